"""The classroom's tables: a class, and the drawings its students chose to keep.

Only what the contract allows is stored: a drawing's 28x28 image, its label,
the networks' readings and a timestamp; a class's code, the hash of its
teacher's secret and its request-rate window. No names, no addresses, no
client identifiers. Secrets are stored as SHA-256 hashes only (they are
random 256-bit tokens, so a fast hash is enough: there is nothing to guess).

The schema itself is made by the Alembic migrations in ``migrations/``;
these classes describe it for queries (``migrations/`` must stay in step).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Classroom(Base):
    """One class: the code students type, the teacher's secret (hashed), a request-rate window."""

    __tablename__ = "classes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    teacher_token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Drawings posted in the current rate window (CLASSROOM_RATE_WINDOW_SECONDS) and when it began.
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_count: Mapped[int] = mapped_column(Integer, default=0)
    # The drawings the class keeps, counted in the same statement that stores or deletes one, so the
    # class's limit (CLASSROOM_MAX_DRAWINGS) is checked without counting rows under the class's lock.
    drawings_count: Mapped[int] = mapped_column(Integer, default=0)

    drawings: Mapped[list[Drawing]] = relationship(back_populates="classroom", passive_deletes=True)


class Drawing(Base):
    """One drawing kept with consent: 784 bytes of image (ink = 255), its label, the time; its readings beside."""

    __tablename__ = "drawings"
    __table_args__ = (Index("ix_drawings_class_created", "class_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What the API calls the drawing's id: random, so ids say nothing about how many drawings exist.
    public_id: Mapped[str] = mapped_column(String(24), unique=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    label: Mapped[int] = mapped_column(SmallInteger)
    image: Mapped[bytes] = mapped_column(LargeBinary)
    delete_token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)

    classroom: Mapped[Classroom] = relationship(back_populates="drawings")


class Reading(Base):
    """How one network read one drawing: the digit it answered (None: it declined), its most probable
    digit, its confidence and why it declined.

    One row per drawing and network, so the class page's figures are a GROUP BY over an index rather
    than every drawing's readings decoded on each poll. The drawing's class and label are repeated here
    (they never change) so that the index (class, network, label, most probable digit) alone answers it.
    """

    __tablename__ = "readings"
    __table_args__ = (Index("ix_readings_class_cell", "class_id", "model", "label", "best"),)

    drawing_id: Mapped[int] = mapped_column(ForeignKey("drawings.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(255), primary_key=True)  # a served folder's name
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    label: Mapped[int] = mapped_column(SmallInteger)
    digit: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    best: Mapped[int] = mapped_column(SmallInteger)
    confidence: Mapped[float] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(String(16), nullable=True)

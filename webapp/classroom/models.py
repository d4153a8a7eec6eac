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

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String
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

    drawings: Mapped[list[Drawing]] = relationship(back_populates="classroom", passive_deletes=True)


class Drawing(Base):
    """One drawing kept with consent: 784 bytes of image (ink = 255), its label, the readings, the time."""

    __tablename__ = "drawings"
    __table_args__ = (Index("ix_drawings_class_created", "class_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What the API calls the drawing's id: random, so ids say nothing about how many drawings exist.
    public_id: Mapped[str] = mapped_column(String(24), unique=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    label: Mapped[int] = mapped_column(SmallInteger)
    image: Mapped[bytes] = mapped_column(LargeBinary)
    # {"<model>": {"digit": int | None, "best": int, "confidence": float}}
    readings: Mapped[dict] = mapped_column(JSON)
    delete_token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)

    classroom: Mapped[Classroom] = relationship(back_populates="drawings")

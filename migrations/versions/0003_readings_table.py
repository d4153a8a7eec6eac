"""Readings in a table of their own, and a class's drawing count beside its rate window.

The class page's figures had decoded every stored drawing's readings (a JSON
column) on each poll: 0.8 s for 5,000 drawings. Now each network's reading of
a drawing is a row, and the figures are a GROUP BY over one index. The class
row counts its drawings, so storing one checks the class's limit in the same
statement that takes the row, instead of counting under its lock. Existing
drawings' readings and counts are filled in from what is stored.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Drawings copied per round trip: a class may hold 10,000 (CLASSROOM_MAX_DRAWINGS) and a store many classes.
CHUNK = 1000

drawings = sa.table("drawings", sa.column("id", sa.Integer), sa.column("class_id", sa.Integer),
                    sa.column("label", sa.SmallInteger), sa.column("readings", sa.JSON))
readings = sa.table("readings", sa.column("drawing_id", sa.Integer), sa.column("model", sa.String),
                    sa.column("class_id", sa.Integer), sa.column("label", sa.SmallInteger),
                    sa.column("digit", sa.SmallInteger), sa.column("best", sa.SmallInteger),
                    sa.column("confidence", sa.Float), sa.column("reason", sa.String))
classes = sa.table("classes", sa.column("id", sa.Integer), sa.column("drawings_count", sa.Integer))


def upgrade() -> None:
    op.create_table(
        "readings",
        sa.Column("drawing_id", sa.Integer(), sa.ForeignKey("drawings.id", ondelete="CASCADE"), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("class_id", sa.Integer(), sa.ForeignKey("classes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("label", sa.SmallInteger(), nullable=False),
        sa.Column("digit", sa.SmallInteger(), nullable=True),
        sa.Column("best", sa.SmallInteger(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("drawing_id", "model", name="pk_readings"),
    )
    op.create_index("ix_readings_class_cell", "readings", ["class_id", "model", "label", "best"])
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(drawings).where(drawings.c.id > last).order_by(drawings.c.id).limit(CHUNK)
        ).all()
        if not rows:
            break
        values = [{"drawing_id": row.id, "model": name, "class_id": row.class_id, "label": row.label,
                   "digit": reading.get("digit"), "best": int(reading["best"]),
                   "confidence": float(reading.get("confidence", 0.0)), "reason": reading.get("reason")}
                  for row in rows for name, reading in (row.readings or {}).items()]
        if values:
            connection.execute(sa.insert(readings), values)
        last = rows[-1].id
    # Plain ALTER TABLE (SQLite has it since 3.35), never a batch copy: on SQLite a copy drops the old
    # table, and with foreign keys on, dropping drawings (or classes) would cascade to the rows that refer to it.
    op.drop_column("drawings", "readings")
    op.add_column("classes", sa.Column("drawings_count", sa.Integer(), nullable=False, server_default="0"))
    connection.execute(sa.update(classes).values(drawings_count=sa.select(sa.func.count()).where(
        drawings.c.class_id == classes.c.id).scalar_subquery()))


def downgrade() -> None:
    op.drop_column("classes", "drawings_count")  # plain ALTER TABLE: see upgrade()
    op.add_column("drawings", sa.Column("readings", sa.JSON(), nullable=False, server_default="{}"))
    connection = op.get_bind()
    last = 0
    while True:
        ids = connection.scalars(
            sa.select(drawings.c.id).where(drawings.c.id > last).order_by(drawings.c.id).limit(CHUNK)
        ).all()
        if not ids:
            break
        kept: dict[int, dict] = {drawing_id: {} for drawing_id in ids}
        for row in connection.execute(sa.select(readings).where(readings.c.drawing_id.in_(ids))):
            kept[row.drawing_id][row.model] = {"digit": row.digit, "best": row.best,
                                               "confidence": row.confidence, "reason": row.reason}
        for drawing_id, value in kept.items():
            connection.execute(sa.update(drawings).where(drawings.c.id == drawing_id).values(readings=value))
        last = ids[-1]
    op.drop_table("readings")

"""Reading routes (抄表段): the manual meters a reader visits, in walking order."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class ReadRoute(SQLModel, table=True):
    __tablename__ = "read_route"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)
    name: str = Field(max_length=100)
    reader_id: int | None = Field(default=None, foreign_key="staff_user.id", index=True)
    read_day: int = 1  # day of the month the route is read


class ReadRouteMeter(SQLModel, table=True):
    __tablename__ = "read_route_meter"

    route_id: int = Field(foreign_key="read_route.id", primary_key=True)
    meter_id: int = Field(foreign_key="meter.id", primary_key=True)
    position: int = 0

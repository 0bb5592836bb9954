"""Regions, industries and enterprises."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam_server.models.base import Base


class County(Base):
    __tablename__ = "county"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)  # GB/T 2260 administrative code
    name: Mapped[str] = mapped_column(String(64))

    townships: Mapped[list[Township]] = relationship(back_populates="county")


class Township(Base):
    __tablename__ = "township"

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("county.id"), index=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(64))

    county: Mapped[County] = relationship(back_populates="townships")


class Industry(Base):
    __tablename__ = "industry"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # matches question_bank industry tags
    name: Mapped[str] = mapped_column(String(64))


class Enterprise(Base):
    __tablename__ = "enterprise"
    __table_args__ = (Index("ix_enterprise_county_industry", "county_id", "industry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    name: Mapped[str] = mapped_column(String(128), index=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("county.id"))
    township_id: Mapped[int | None] = mapped_column(ForeignKey("township.id"), index=True)
    industry_id: Mapped[int] = mapped_column(ForeignKey("industry.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)

    county: Mapped[County] = relationship()
    township: Mapped[Township | None] = relationship()
    industry: Mapped[Industry] = relationship()

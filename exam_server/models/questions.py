"""The question bank as stored by the server (the logic lives in question_bank)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from exam_server.models.base import Base, utcnow


class Question(Base):
    __tablename__ = "question"
    __table_args__ = (Index("ix_question_pick", "status", "category", "qtype", "difficulty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    qtype: Mapped[str] = mapped_column(String(16))  # single / multiple / truefalse
    stem: Mapped[str] = mapped_column(Text)
    options: Mapped[list] = mapped_column(default=list)
    answer: Mapped[str] = mapped_column(String(8))  # letters by position, e.g. "ACD"
    explanation: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(64))
    industries: Mapped[list] = mapped_column(default=list)
    job_categories: Mapped[list] = mapped_column(default=list)
    difficulty: Mapped[int]
    points: Mapped[float | None]
    basis: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="active")
    version: Mapped[int] = mapped_column(default=1)
    # Drawn for real papers only: practice and mock exams never show it.
    exam_only: Mapped[bool] = mapped_column(default=False, server_default=false())
    # File name under DATA_DIR/question_images ("<sha256>.png"); never served from a public URL.
    image: Mapped[str | None] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PaperRuleSet(Base):
    """A paper rule set as the city administrator edited it; it replaces question_bank's file of the same code."""

    __tablename__ = "paper_rule_set"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    body: Mapped[dict]  # question_bank.RuleSet.to_dict(); a plan copies it when saved
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("console_user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

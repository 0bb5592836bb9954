"""A year of exams for a generated city: sittings, outcomes, certificates, sampled answers, faces and alerts."""

from __future__ import annotations

import itertools
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import question_bank as qb
from exam_server import localday
from exam_server.database import DbSession
from exam_server.models import (
    Answer,
    Base,
    Certificate,
    CheckIn,
    FaceCheck,
    RequirementStatus,
    ReviewCase,
    Sitting,
    SittingStatus,
)
from exam_server.services.exam import question_store

if TYPE_CHECKING:
    from exam_server.demo.city_rows import City, Loader

MONTH_WEIGHT = {1: 0.8, 2: 0.45, 6: 1.5, 11: 1.2, 12: 1.3}  # Spring Festival lull, safety month, year end
WEEKEND_WEIGHT = 0.15
WORKING_MINUTES = (8 * 60 + 30, 17 * 60)  # sittings start 08:30-17:00 on the bureau's clock (anchor: local midnight)


@dataclass
class History:
    """The rows of the year, before insertion."""

    sittings: list[dict] = field(default_factory=list)
    certificates: list[dict] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)
    checkins: list[dict] = field(default_factory=list)
    face_checks: list[dict] = field(default_factory=list)
    review_cases: list[dict] = field(default_factory=list)
    template_workers: list[int] = field(default_factory=list)
    template_models: int = 1

    def size(self) -> int:
        """Return the number of rows still to insert (a photo and a template per model per template worker)."""
        return (
            len(self.sittings)
            + len(self.certificates)
            + len(self.answers)
            + len(self.checkins)
            + len(self.face_checks)
            + len(self.review_cases)
            + (1 + self.template_models) * len(self.template_workers)
        )


def beta(rng: random.Random, mean: float, concentration: float) -> float:
    """Draw from a Beta distribution with this mean (wider for a lower concentration)."""
    mean = min(max(mean, 1e-3), 1 - 1e-3)
    return rng.betavariate(mean * concentration, (1 - mean) * concentration)


def attempt_rates(
    participation: float, pass_rate: float, retake_pass: float, sittings: int, requirements: int
) -> tuple[float, float]:
    """Return (first-attempt pass rate, share of failures retaken) that land on the targets and sitting count."""
    sat = max(participation * requirements, 1.0)
    retakes = max(0.0, sittings - sat)
    first = min(max(pass_rate - retakes * retake_pass / sat, 0.5), 0.995)
    return first, min(1.0, retakes / max(sat * (1 - first), 1.0))


def calendar(anchor: datetime) -> tuple[list[datetime], list[float]]:
    """Return the exam days of the year before the anchor and their weights."""
    days = [anchor - timedelta(days=d) for d in range(365, 1, -1)]
    weights = [(WEEKEND_WEIGHT if day.weekday() >= 5 else 1.0) * MONTH_WEIGHT.get(day.month, 1.0) for day in days]
    return days, weights


def compact_paper(ruleset: dict, max_score: float) -> dict:
    """Return the paper stored with generated sittings outside the answer sample (no items)."""
    return {
        "ruleset_id": ruleset["id"],
        "ruleset_version": ruleset.get("version", 1),
        "title": ruleset["name"],
        "pass_mark": ruleset["pass_mark"],
        "duration_minutes": ruleset["duration_minutes"],
        "partial_credit": ruleset.get("partial_credit", "none"),
        "total_points": max_score,
        "items": [],
        "abridged": True,
    }


def score(rng: random.Random, passed: bool, pass_mark: float, max_score: float) -> float:
    """Return a plausible whole-point score on the right side of the pass mark."""
    if passed:
        return float(round(pass_mark + rng.betavariate(2.0, 2.5) * (max_score - pass_mark)))
    return float(round(pass_mark - 1 - rng.betavariate(1.5, 3.0) * (pass_mark - 1 - 0.3 * max_score)))


def simulate(session: DbSession, city: City) -> History:
    """Decide every requirement's year (sat or not, attempts, scores) and make the rows that record it."""
    from exam_server.demo.city_rows import next_id

    rng, scale, history = city.rng, city.scale, History()
    rulesets = {p["id"]: qb.RuleSet.from_dict(p["ruleset"]) for p in city.plans}
    papers = {p["id"]: compact_paper(p["ruleset"], rulesets[p["id"]].nominal_points) for p in city.plans}
    first_rate, retake = attempt_rates(
        scale.participation, scale.pass_rate, scale.retake_pass_rate, scale.sittings, len(city.requirements)
    )
    propensity = {
        e["id"]: (beta(rng, scale.participation, scale.spread), beta(rng, first_rate, scale.spread))
        for e in city.enterprises
    }
    days, weights = calendar(city.anchor)
    cumulative = list(itertools.accumulate(weights))
    centre = {k["county_id"]: k["id"] for k in city.kiosks if k["_township"] is None}
    local = {k["_township"]: k["id"] for k in city.kiosks if k["_township"] is not None}
    sitting_id, certificate_days = next_id(session, Sitting), timedelta(days=365 * 3)
    last_day = city.anchor - timedelta(days=1)
    for req in city.requirements:
        takes, passes = propensity[req["enterprise_id"]]
        ruleset, paper = rulesets[req["plan_id"]], papers[req["plan_id"]]
        max_score, duration = ruleset.nominal_points, timedelta(minutes=ruleset.duration_minutes)
        if rng.random() >= takes:
            continue
        outcomes = [rng.random() < passes]
        if not outcomes[0] and rng.random() < retake:
            outcomes.append(rng.random() < scale.retake_pass_rate)
        start = rng.choices(days, cum_weights=cumulative)[0] + timedelta(minutes=rng.randint(*WORKING_MINUTES))
        kiosk = local.get(req["township_id"]) if rng.random() < 0.75 else None
        for attempt, passed in enumerate(outcomes, start=1):
            if attempt > 1:
                start += timedelta(days=rng.randint(3, 40))
                if start >= last_day:  # no later than the last day, in working hours
                    start = last_day + timedelta(minutes=rng.randint(*WORKING_MINUTES))
            auto = rng.random() < 0.02
            submitted = start + (duration if auto else timedelta(seconds=rng.randint(18 * 60, 58 * 60)))
            history.sittings.append(
                {
                    "id": sitting_id,
                    "plan_id": req["plan_id"],
                    "worker_id": req["worker_id"],
                    "requirement_id": req["id"],
                    "kiosk_id": kiosk or centre[req["county_id"]],
                    "status": SittingStatus.SUBMITTED,
                    "attempt_no": attempt,
                    "seed": rng.randrange(2**31),
                    "paper": paper,
                    "started_at": start,
                    "deadline_at": start + duration,
                    "submitted_at": submitted,
                    "auto_submitted": auto,
                    "score": score(rng, passed, ruleset.pass_mark, max_score),
                    "max_score": max_score,
                    "passed": passed,
                    "status_reason": None,
                }
            )
            if passed:
                history.certificates.append(
                    {
                        "number": f"AQ{submitted:%Y}{sitting_id:010d}",
                        "verify_code": secrets.token_urlsafe(18),
                        "worker_id": req["worker_id"],
                        "plan_id": req["plan_id"],
                        "sitting_id": sitting_id,
                        "issued_on": localday.local_date(submitted),
                        "valid_until": localday.local_date(submitted) + certificate_days,
                    }
                )
                req["passed_at"] = submitted
            req["first_sat_at"] = req["first_sat_at"] or start
            sitting_id += 1
        req["attempts"] = len(outcomes)
        req["status"] = RequirementStatus.PASSED.value if outcomes[-1] else RequirementStatus.FAILED.value
    sample_answers(session, city, history, rulesets)
    from exam_server.demo import city_faces

    city_faces.make(session, city, history)
    return history


def sample_answers(session: DbSession, city: City, history: History, rulesets: dict[int, qb.RuleSet]) -> None:
    """Give a random sample of sittings a real assembled paper and answers that grade to their outcome."""
    from exam_server.demo.city_rows import next_id

    rng = city.rng
    bank, question_ids = question_store.bank(session)
    jobs = {w["id"]: w["job_category"].value for w in city.workers}
    industry = {e["id"]: e["_industry"] for e in city.enterprises}
    worker_enterprise = {w["id"]: w["enterprise_id"] for w in city.workers}
    answer_id = next_id(session, Answer)
    count = min(city.scale.answer_sample, len(history.sittings))
    for index in sorted(rng.sample(range(len(history.sittings)), count)):
        sitting = history.sittings[index]
        try:
            paper = qb.assemble(
                bank,
                rulesets[sitting["plan_id"]],
                sitting["seed"],
                job_category=jobs[sitting["worker_id"]],
                industry=industry[worker_enterprise[sitting["worker_id"]]],
            )
        except qb.AssemblyError:
            continue
        responses = responses_for(rng, paper, sitting["passed"])
        if responses is None:
            continue
        grade = qb.grade(paper, responses)
        stored = paper.to_dict()
        for item in stored["items"]:
            item["question_id"] = question_ids[item["code"]]
        sitting.update(paper=stored, score=grade.total, max_score=grade.max_total)
        span = sitting["submitted_at"] - sitting["started_at"]
        for n, item in enumerate(stored["items"], start=1):
            history.answers.append(
                {
                    "id": answer_id,
                    "sitting_id": sitting["id"],
                    "item_no": item["number"],
                    "question_id": item["question_id"],
                    "response": responses[item["number"]],
                    "idempotency_key": f"{rng.getrandbits(64):016x}",
                    "revision": 1,
                    "answered_at": sitting["started_at"] + span * n / (len(stored["items"]) + 1),
                }
            )
            answer_id += 1


def responses_for(rng: random.Random, paper: qb.Paper, passed: bool) -> dict[int, str] | None:
    """Return responses (presented letters) whose grade passes or fails as wanted, or None if none found."""
    right = 0.93 if passed else 0.68
    for _ in range(40):
        responses = {
            item.number: item.answer if rng.random() < right else wrong_letters(rng, item) for item in paper.items
        }
        if qb.grade(paper, responses).passed == passed:
            return responses
    return None


def wrong_letters(rng: random.Random, item: qb.PaperItem) -> str:
    """Return a wrong response to an item."""
    letters = "ABCDEF"[: len(item.options)]
    while True:
        if item.type is qb.QuestionType.MULTIPLE:
            chosen = "".join(c for c in letters if rng.random() < 0.5)
        else:
            chosen = rng.choice(letters)
        if chosen and chosen != item.answer:
            return chosen


def rates(requirements: list[dict]) -> dict[str, float]:
    """Return participation (sat / required) and pass rate (passed / sat) over requirements."""
    sat = sum(1 for r in requirements if r["attempts"])
    passed = sum(1 for r in requirements if r["status"] == RequirementStatus.PASSED.value)
    return {"participation": sat / max(len(requirements), 1), "pass_rate": passed / max(sat, 1)}


def load(session: DbSession, city: City, history: History, loader: Loader, data_dir: str | None) -> None:
    """Insert the year's rows, then the synthetic face templates (and write the 1:N indexes into data_dir)."""
    from exam_server.demo import city_faces

    model: type[Base]
    for model, rows in ((Sitting, history.sittings), (Certificate, history.certificates), (Answer, history.answers)):
        loader.insert(model, rows)
        session.commit()
    city_faces.load_templates(session, city, history, loader, data_dir)
    for model, rows in (
        (CheckIn, history.checkins),
        (FaceCheck, history.face_checks),
        (ReviewCase, history.review_cases),
    ):
        loader.insert(model, rows)
        session.commit()

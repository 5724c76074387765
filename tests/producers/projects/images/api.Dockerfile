FROM python:latest
RUN apt-get update && apt-get install curl
ADD . /app
WORKDIR /app
RUN cd /app && pip install -r requirements.txt
USER root
CMD python app.py

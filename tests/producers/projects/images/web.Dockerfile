FROM node
RUN apt-get update && apt-get install -y git
COPY . /srv
RUN cd /srv && npm install
CMD node server.js

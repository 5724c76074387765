const { exec } = require("child_process");
const express = require("express");

const app = express();

app.get("/ping", (req, res) => {
  // command injection: the host comes straight from the query string
  exec("ping -c 1 " + req.query.host, (err, out) => res.send(out));
});

app.get("/calc", (req, res) => {
  res.send(String(eval(req.query.expr)));
});

app.listen(3000);

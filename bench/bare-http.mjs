// The HTTP ceiling of the ingest suite: a bare node:http server that reads each request body, parses its JSON (as any
// server must) and answers 201 with a small JSON body. It stores nothing and must never grow into a second Logbook.
// Plain JavaScript so that its start-up and run costs carry no loader; prints "listening on <port>" when ready.
import http from 'node:http';

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const count = Array.isArray(body.events) ? body.events.length : 1;
    const reply = JSON.stringify({ accepted: count });
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) });
    res.end(reply);
  });
});
server.listen(0, '127.0.0.1', () => console.log(`listening on ${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

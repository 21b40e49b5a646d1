// An uncaught TypeError in a request handler: Node prints the source line, a caret, the stack and exits 1.
const log = (msg) => console.log(`${new Date().toISOString()} info ${msg}`);

function loadUser(id) {
  return id === 42 ? { id, name: "ada" } : undefined;
}

function handler(req) {
  const user = loadUser(req.userId);
  return { id: user.id };
}

log("listening on 127.0.0.1:18540");
log("GET /orders/7");
handler({ userId: 7 });

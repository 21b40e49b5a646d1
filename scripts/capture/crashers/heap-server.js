// An HTTP server whose `/leak` keeps objects on the JS heap until V8 reaches --max-old-space-size.
import { createServer } from "node:http";

const port = Number(process.argv[2]);
const cache = [];
createServer((req, res) => {
  if (req.url === "/leak") {
    for (;;) cache.push({ id: cache.length, payload: `report ${cache.length}`.repeat(8) });
  }
  res.end("ok\n");
}).listen(port, "127.0.0.1", () => console.log(`${new Date().toISOString()} info listening on ${port}`));

// The lab's backend as a Java program, run as one source file on the JVM (java HeapApp.java, JDK 11+):
// an HTTP server (com.sun.net.httpserver) whose --fail-after Nth request (or /leak) loads an "order history"
// that keeps 1 MiB arrays until the heap (-Xmx) is exhausted. Lines go to stdout, ISO-stamped like app.mjs.
//
//   java -Xmx32m -XX:+ExitOnOutOfMemoryError HeapApp.java --name checkout-1 --address 127.0.0.11
//     --port 18080 [--fail-after N]
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

public class HeapApp {
  static final List<byte[]> HISTORY = new ArrayList<>();
  static final AtomicInteger REQUESTS = new AtomicInteger();
  static String name = "checkout";

  static void log(String level, String msg) {
    System.out.println(Instant.now() + " " + level + " " + name + "[" + ProcessHandle.current().pid() + "]: " + msg);
  }

  static void loadHistory() {
    log("INFO", "loading the order history");
    for (;;) HISTORY.add(new byte[1 << 20]);
  }

  static void reply(HttpExchange x, int status, String body) throws IOException {
    byte[] b = body.getBytes();
    x.getResponseHeaders().set("Content-Type", "application/json");
    x.sendResponseHeaders(status, b.length);
    x.getResponseBody().write(b);
    x.close();
  }

  public static void main(String[] args) throws IOException {
    Map<String, String> opts = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) opts.put(args[i], args[i + 1]);
    name = opts.getOrDefault("--name", name);
    String address = opts.getOrDefault("--address", "127.0.0.1");
    int port = Integer.parseInt(opts.getOrDefault("--port", "18080"));
    int failAfter = Integer.parseInt(opts.getOrDefault("--fail-after", "0"));
    HttpServer server = HttpServer.create(new InetSocketAddress(address, port), 64);
    server.createContext("/", x -> {
      int n = REQUESTS.incrementAndGet();
      String path = x.getRequestURI().getPath();
      if (path.equals("/leak") || n == failAfter) loadHistory();
      reply(x, 200, "{\"ok\":true,\"request\":" + n + "}");
      log("INFO", x.getRequestMethod() + " " + path + " 200");
    });
    server.start();
    log("INFO", "listening on " + address + ":" + port);
  }
}

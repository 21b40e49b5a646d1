// An HTTP server (com.sun.net.httpserver) whose `/leak` keeps 1 MiB arrays until the heap (-Xmx) is exhausted.
// Run as a single source file: java -Xmx32m [-XX:+ExitOnOutOfMemoryError] HeapServer.java PORT
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

public class HeapServer {
  static final List<byte[]> CACHE = new ArrayList<>();

  static void reply(HttpExchange x, String body) throws IOException {
    byte[] b = body.getBytes();
    x.sendResponseHeaders(200, b.length);
    x.getResponseBody().write(b);
    x.close();
  }

  public static void main(String[] args) throws IOException {
    int port = Integer.parseInt(args[0]);
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
    server.createContext("/", x -> reply(x, "ok\n"));
    server.createContext("/leak", x -> {
      for (;;) CACHE.add(new byte[1 << 20]);
    });
    server.start();
    System.out.println("report service listening on 127.0.0.1:" + port);
  }
}

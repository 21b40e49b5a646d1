// An uncaught exception with a cause: `Exception in thread "main" ...`, `\tat` frames, `Caused by:`; exit 1.
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

public class JavaUncaught {
  static void log(String level, String msg) {
    String now = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS"));
    System.out.println(now + " [main] " + level + " JavaUncaught - " + msg);
  }

  static int parsePort(String value) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalStateException("invalid server.port in application.properties", e);
    }
  }

  public static void main(String[] args) {
    log("INFO", "starting orders service");
    int port = parsePort("80x");
    log("INFO", "listening on " + port);
  }
}

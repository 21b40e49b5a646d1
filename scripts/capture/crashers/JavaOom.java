// Run with a small -Xmx. `main`: the main thread fills the heap (uncaught OutOfMemoryError, exit 1, or
// exit 3 with -XX:+ExitOnOutOfMemoryError, or SIGABRT with -XX:+CrashOnOutOfMemoryError).
// `worker`: a worker thread dies of OutOfMemoryError and the JVM keeps running (exit 0).
import java.util.ArrayList;
import java.util.List;

public class JavaOom {
  static final List<byte[]> CACHE = new ArrayList<>();

  static void fill() {
    for (;;) CACHE.add(new byte[1 << 20]);
  }

  public static void main(String[] args) throws InterruptedException {
    System.out.println("loading report cache");
    if (args.length > 0 && args[0].equals("worker")) {
      Thread worker = new Thread(JavaOom::fill, "report-worker-1");
      worker.start();
      worker.join();
      CACHE.clear();
      System.out.println("worker died, still serving");
      return;
    }
    fill();
  }
}

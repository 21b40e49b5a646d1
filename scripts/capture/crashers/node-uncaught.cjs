// CommonJS variant: a ReferenceError thrown from a timer callback; the path is printed without file://.
const log = (msg) => console.log(`${new Date().toISOString()} info ${msg}`);

setTimeout(function flushMetrics() {
  log("flushing metrics");
  metricsClient.flush();
}, 0);

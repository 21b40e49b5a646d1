// A service that starts and then waits: killed from outside in the captures.
console.log(`${new Date().toISOString()} INFO worker[${process.pid}]: started`);
setInterval(() => undefined, 1000);

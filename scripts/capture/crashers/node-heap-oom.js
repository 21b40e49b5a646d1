// Run with `node --max-old-space-size=20`: keeps every object alive until V8 gives up (SIGABRT, rc 134).
console.log(`${new Date().toISOString()} info cache warming started`);
const cache = [];
for (let i = 0; ; i++) cache.push({ key: `k${i}`, value: new Array(100).fill(i) });

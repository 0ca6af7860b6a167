/**
 * Loaded with `node --import` into a process whose simulated run must not depend on the real
 * clock or on Math.random (member-determinism.test.ts): both are moved far from the defaults.
 */
const offsetMs = 987_654_321;
const realNow = Date.now.bind(Date);
Date.now = () => realNow() + offsetMs;
const realPerformanceNow = performance.now.bind(performance);
performance.now = () => realPerformanceNow() + offsetMs;
let state = 0x2545f491;
Math.random = () => {
  // xorshift32: any sequence other than the default one.
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
};

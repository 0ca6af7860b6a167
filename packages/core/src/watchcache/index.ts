export * from './watch-cache.js';

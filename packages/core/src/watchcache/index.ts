export * from './watch-cache.js';
export * from './watch-filter.js';

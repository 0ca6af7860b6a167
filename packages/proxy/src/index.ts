export { SessionRevisionFloor } from './session.js';

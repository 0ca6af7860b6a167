export { SessionRevisionFloor } from './session.js';
export { ProxyServer, type ProxyServerOptions } from './proxy-server.js';

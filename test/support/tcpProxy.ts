// The TCP proxy lives with the scripts (the chaos run uses it too, and must not import test code).
export { startTcpProxy, throughProxy, type TcpProxy } from '../../scripts/lib/tcpProxy.js';

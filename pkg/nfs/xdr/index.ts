export { XdrReader } from './reader';
export { XdrWriter } from './writer';
export { XdrError } from './errors';

// The mount package: the Mounter interface, its mount(8) implementation, its in-memory fake,
// and the /proc/self/mountinfo parser they share.
export * from './mounter';
export * from './mountinfo';
export * from './exec-mounter';
export * from './fake-mounter';

import { onDawn } from './dawn';

await onDawn(() => import('../gpu/kernels-gemv.test'));

import { onDawn } from './dawn';

await onDawn(() => import('../gpu/kernels-linear-f16.test'));

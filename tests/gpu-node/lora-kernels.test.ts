import { onDawn } from './dawn';

await onDawn(() => import('../gpu/lora-kernels.test'));

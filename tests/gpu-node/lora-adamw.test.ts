import { onDawn } from './dawn';

await onDawn(() => import('../gpu/lora-adamw.test'));

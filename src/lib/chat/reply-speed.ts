/**
 * The generation speed measured on this device, as chat already keeps it: every saved reply has its
 * tokens per second, and its conversation names the model. Estimates (what a judge evaluation adds
 * to a training run) reuse it instead of guessing.
 */
import type { StudioDatabase } from '../data/db';

/**
 * The median tokens per second of the newest `replies` chat replies written with `modelId`
 * (conversations read newest first, at most `conversations` of them); null when none is kept.
 */
export async function measuredReplySpeed(
	db: StudioDatabase,
	modelId: string,
	replies = 9,
	conversations = 20
): Promise<number | null> {
	const speeds: number[] = [];
	const newest = await db.chats.orderBy('updatedAt').reverse().limit(conversations).toArray();
	for (const chat of newest) {
		if (chat.model.model !== modelId) continue;
		for (const m of [...chat.messages].reverse()) {
			if (m.role !== 'model' || !(m.tokensPerSecond && m.tokensPerSecond > 0)) continue;
			speeds.push(m.tokensPerSecond);
			if (speeds.length === replies) break;
		}
		if (speeds.length === replies) break;
	}
	if (!speeds.length) return null;
	speeds.sort((a, b) => a - b);
	const mid = speeds.length >> 1;
	return speeds.length % 2 ? speeds[mid] : (speeds[mid - 1] + speeds[mid]) / 2;
}

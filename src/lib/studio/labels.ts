/**
 * How a person recognises a dialogue in a list: "Sage × Ann · “Why do we…”" (its character, the
 * persona who spoke with it, and the opening question), never its id.
 */
import type { Character, Dialogue, Persona } from '../data/types';

const OPENING_CHARS = 40;

export function shortText(text: string, max = OPENING_CHARS): string {
	const line = text.trim().replace(/\s+/g, ' ');
	return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export function dialogueTitle(
	dialogue: Pick<Dialogue, 'characterId' | 'personaId' | 'turns'>,
	characters: Pick<Character, 'id' | 'name'>[],
	personas: Pick<Persona, 'id' | 'name'>[]
): string {
	const character = characters.find((c) => c.id === dialogue.characterId)?.name ?? '?';
	const persona = personas.find((p) => p.id === dialogue.personaId)?.name;
	const opening = dialogue.turns[0]?.content;
	return [persona ? `${character} × ${persona}` : character, opening && `“${shortText(opening)}”`]
		.filter(Boolean)
		.join(' · ');
}

/** Names of keys stored in data (criterion keys, message roles), in English and Japanese (data-names.ts). */
export const dataNamesEn = {
	'criterion.tone': 'Tone',
	'criterion.flow': 'Flow',
	'criterion.personality': 'Personality',
	'role.user': 'User',
	'role.model': 'Model',
	'role.system': 'System'
};

export const dataNamesJa: typeof dataNamesEn = {
	'criterion.tone': '口調',
	'criterion.flow': '流れ',
	'criterion.personality': '人物らしさ',
	'role.user': 'ユーザー',
	'role.model': 'モデル',
	'role.system': 'システム'
};

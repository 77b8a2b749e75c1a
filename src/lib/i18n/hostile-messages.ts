/**
 * Strings for hostile and careless input (share-link consent, big-file parsing),
 * in English and Japanese. Spread into the dictionaries of messages.ts.
 */
export const hostileEn = {
	'hostile.share.notContacted':
		'Nothing has been contacted yet. When you load it, the adapter’s size (at most {limit}) and base model are checked before it downloads.',
	'hostile.parse.progress': 'Reading {file}: {percent}%'
};

export const hostileJa: typeof hostileEn = {
	'hostile.share.notContacted':
		'まだどこにも接続していません。読み込むと、ダウンロードの前にアダプターのサイズ（上限 {limit}）とベースモデルを確認します。',
	'hostile.parse.progress': '{file} を読み込み中: {percent}%'
};

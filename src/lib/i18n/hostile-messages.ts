/**
 * Strings for hostile and careless input (share-link consent, storage quota, big-file parsing),
 * in English and Japanese. Spread into the dictionaries of messages.ts.
 */
export const hostileEn = {
	'hostile.share.notContacted':
		'Nothing has been contacted yet. When you load it, the adapter’s size (at most {limit}) and base model are checked before it downloads.',
	'hostile.storage.full':
		'The browser’s storage for this site is full: {what} was not saved (nothing half-written was kept). Free space on the Datasets or Adapters page, or in the browser’s site settings, then try again.',
	'hostile.parse.progress': 'Reading {file}: {percent}%'
};

export const hostileJa: typeof hostileEn = {
	'hostile.share.notContacted':
		'まだどこにも接続していません。読み込むと、ダウンロードの前にアダプターのサイズ（上限 {limit}）とベースモデルを確認します。',
	'hostile.storage.full':
		'このサイトのブラウザー保存領域がいっぱいです。{what}は保存されませんでした（書きかけのデータは残っていません）。データセットまたはアダプターのページ、あるいはブラウザーのサイト設定で空きを作ってから、もう一度お試しください。',
	'hostile.parse.progress': '{file} を読み込み中: {percent}%'
};

import unhomoglyph from 'unhomoglyph';

// unhomoglyph 1.0.6 carries Unicode's confusables.txt 13.0.0 as a code point → prototype map.
const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;
const SPACE = /\p{Zs}+/gu;

// UTS #39 §4: skeleton(X) = NFD(map each character of NFD(X) through confusables.txt).
const skeleton = (value: string): string => unhomoglyph(value.normalize('NFD')).normalize('NFD');

// Upper then lower folds what lower-casing alone keeps apart (ß/SS, ﬁ/FI), close to full case folding.
const fold = (value: string): string => value.toUpperCase().toLowerCase();

/**
 * The key under which two names that look alike collide: the UTS #39 skeleton of the case-folded skeleton,
 * so that "Il" (capital I) meets "ll" and "ACME" meets "Аcme". Invisible characters and the kind of space do
 * not count. Never shown to anyone: a skeleton is a comparison key, not a name (UTS #39 §4).
 */
export function nameSkeleton(name: string): string {
  const visible = name.normalize('NFC').replace(DEFAULT_IGNORABLE, '').replace(SPACE, ' ').trim();
  return skeleton(fold(skeleton(visible)));
}

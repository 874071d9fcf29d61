//! Records removed from a JSON array or NDJSON by blanking their bytes: each removed record, and the comma
//! that would be left without a record on one side, become spaces. The object keeps its length, so every
//! offset a concurrent appender or a compaction holds stays true; it stays a valid JSON array (whitespace may
//! sit anywhere between its tokens), and the line readers skip a line of spaces. An array of records all
//! removed is `[`, spaces and `]`: an empty array.
//!
//! [`ArrayScanner`] finds the top-level elements of an array fed to it a chunk at a time, so an object of any
//! size is read with one chunk and its longest record in memory; which elements go is decided as each one
//! ends, from what went before it alone.

use std::ops::Range;

/// A top-level element of the array, by its bytes in the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) span: Range<u64>,
    /// The comma between it and the element before it.
    pub(crate) comma_before: Option<u64>,
}

/// The scanner's place in the JSON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Before the array's `[`.
    Before,
    /// Inside the array, `depth` brackets deep (1: between its elements).
    Inside { depth: u32, in_string: bool, escaped: bool },
    /// After its `]`.
    After,
}

/// Finds the elements of one JSON array in the chunks fed to it, in order.
#[derive(Debug, Clone)]
pub(crate) struct ArrayScanner {
    place: Place,
    /// Where the element being read began.
    start: Option<u64>,
    comma: Option<u64>,
}

impl Default for ArrayScanner {
    fn default() -> Self {
        Self { place: Place::Before, start: None, comma: None }
    }
}

impl ArrayScanner {
    /// A scanner inside an array, between two elements: to read on from the end of an element.
    pub(crate) fn between_elements() -> Self {
        Self { place: Place::Inside { depth: 1, in_string: false, escaped: false }, start: None, comma: None }
    }

    /// The elements that end within `chunk`, the object's bytes from `offset` on.
    pub(crate) fn feed(&mut self, chunk: &[u8], offset: u64) -> Vec<Element> {
        let mut ended = Vec::new();
        for (index, byte) in chunk.iter().copied().enumerate() {
            let at = offset + index as u64;
            match self.place {
                Place::Before => {
                    if byte == b'[' {
                        self.place = Place::Inside { depth: 1, in_string: false, escaped: false };
                    }
                }
                Place::After => {}
                Place::Inside { depth, in_string: true, escaped } => {
                    let closing = !escaped && byte == b'"';
                    self.place = Place::Inside { depth, in_string: !closing, escaped: !escaped && byte == b'\\' };
                    if closing && depth == 1 {
                        self.end(at + 1, &mut ended);
                    }
                }
                Place::Inside { depth, .. } => match byte {
                    b'"' | b'{' | b'[' => {
                        if depth == 1 {
                            self.start.get_or_insert(at);
                        }
                        self.place = match byte {
                            b'"' => Place::Inside { depth, in_string: true, escaped: false },
                            _ => Place::Inside { depth: depth + 1, in_string: false, escaped: false },
                        };
                    }
                    b'}' | b']' if depth == 1 => {
                        self.end(at, &mut ended);
                        self.place = Place::After;
                    }
                    b'}' | b']' => {
                        self.place = Place::Inside { depth: depth - 1, in_string: false, escaped: false };
                        if depth == 2 {
                            self.end(at + 1, &mut ended);
                        }
                    }
                    b',' if depth == 1 => {
                        self.end(at, &mut ended);
                        self.comma = Some(at);
                    }
                    byte if byte.is_ascii_whitespace() => {
                        if depth == 1 {
                            self.end(at, &mut ended);
                        }
                    }
                    _ => {
                        if depth == 1 {
                            self.start.get_or_insert(at);
                        }
                    }
                },
            }
        }
        ended
    }

    /// Where the element being read began: the bytes from there on are needed to read it once it ends.
    pub(crate) fn open_since(&self) -> Option<u64> {
        self.start
    }

    /// Whether the array's closing bracket was read.
    #[cfg(test)]
    pub(crate) fn closed(&self) -> bool {
        self.place == Place::After
    }

    /// Ends the element being read, if any, at `end`: an object, array or string at its closing byte, a
    /// scalar before the first byte after it. Between elements nothing is being read.
    fn end(&mut self, end: u64, ended: &mut Vec<Element>) {
        if let Some(start) = self.start.take() {
            ended.push(Element { span: start..end, comma_before: self.comma.take() });
        }
    }
}

/// Which bytes to blank as elements are kept or removed, in order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Blanking {
    kept_any: bool,
    /// Ranges to blank, in order.
    pub(crate) ranges: Vec<Range<u64>>,
}

impl Blanking {
    /// Records whether `element` stays. A removed element goes with the comma before it; the first element
    /// kept loses the comma before it, which separated it from removed ones only. So every comma left sits
    /// between two kept elements.
    pub(crate) fn element(&mut self, element: &Element, keep: bool) {
        if keep {
            if !self.kept_any
                && let Some(comma) = element.comma_before
            {
                self.ranges.push(comma..comma + 1);
            }
            self.kept_any = true;
        } else {
            if let Some(comma) = element.comma_before {
                self.ranges.push(comma..comma + 1);
            }
            self.ranges.push(element.span.clone());
        }
    }
}

/// Overwrites with spaces the parts of `ranges` that fall in `bytes`, the object's bytes from `offset` on.
pub(crate) fn blank(bytes: &mut [u8], offset: u64, ranges: &[Range<u64>]) {
    let end = offset + bytes.len() as u64;
    for range in ranges {
        let (from, to) = (range.start.max(offset), range.end.min(end));
        if from < to {
            bytes[(from - offset) as usize..(to - offset) as usize].fill(b' ');
        }
    }
}

/// The lines of NDJSON text (their spans without the newline) that `remove` picks, to blank.
pub(crate) fn lines_to_blank(text: &[u8], mut remove: impl FnMut(&[u8]) -> bool) -> Vec<Range<u64>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    for line in text.split(|byte| *byte == b'\n') {
        let end = start + line.len();
        if !line.trim_ascii().is_empty() && remove(line) {
            ranges.push(start as u64..end as u64);
        }
        start = end + 1;
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    /// `text` with the elements `remove` picks blanked, fed in chunks of `chunk` bytes.
    fn remove_from(text: &str, chunk: usize, remove: impl Fn(usize) -> bool) -> String {
        let mut scanner = ArrayScanner::default();
        let mut blanking = Blanking::default();
        let mut index = 0;
        for (number, piece) in text.as_bytes().chunks(chunk.max(1)).enumerate() {
            for element in scanner.feed(piece, (number * chunk.max(1)) as u64) {
                blanking.element(&element, !remove(index));
                index += 1;
            }
        }
        assert!(scanner.closed(), "the array closes");
        let mut bytes = text.as_bytes().to_vec();
        blank(&mut bytes, 0, &blanking.ranges);
        String::from_utf8(bytes).expect("spaces keep UTF-8 whole")
    }

    fn elements(text: &str) -> Vec<Value> {
        match serde_json::from_str(text).expect("valid JSON") {
            Value::Array(elements) => elements,
            other => panic!("not an array: {other}"),
        }
    }

    #[test]
    fn the_consumers_layout_loses_the_first_the_last_a_middle_one_all_or_none() {
        let text = "[\n{\"a\":1},\n{\"b\":\"x,]}\"},\n{\"c\":[1,{\"d\":2}]}\n]\n";
        for (removed, left) in [
            (vec![0], "[\n        \n{\"b\":\"x,]}\"},\n{\"c\":[1,{\"d\":2}]}\n]\n"),
            (vec![2], "[\n{\"a\":1},\n{\"b\":\"x,]}\"} \n                 \n]\n"),
            (vec![1], "[\n{\"a\":1} \n            ,\n{\"c\":[1,{\"d\":2}]}\n]\n"),
        ] {
            let out = remove_from(text, 7, |index| removed.contains(&index));
            assert_eq!(out, left);
            assert_eq!(out.len(), text.len());
        }
        let all = remove_from(text, 3, |_| true);
        assert_eq!(all.chars().filter(|c| !c.is_ascii_whitespace()).collect::<String>(), "[]");
        assert_eq!(elements(&all), Vec::<Value>::new());
        assert_eq!(remove_from(text, 5, |_| false), text);
    }

    #[test]
    fn the_seeds_one_line_arrays_and_scalars_are_elements_too() {
        let text = r#"[{"a":"q\"]"}, 7 ,"s",true,[1,2] , null]"#;
        let out = remove_from(text, 4, |index| index % 2 == 1);
        assert_eq!(elements(&out), elements(r#"[{"a":"q\"]"},"s",[1,2]]"#));
        assert_eq!(elements(&remove_from("[]", 1, |_| true)), Vec::<Value>::new());
        assert_eq!(elements(&remove_from(" [ 5 ] ", 1, |_| true)), Vec::<Value>::new());
    }

    #[test]
    fn ndjson_lines_are_blanked_without_their_newline() {
        let text = b"{\"a\":1}\n\n{\"b\":2}\n{\"c\":3}";
        let ranges = lines_to_blank(text, |line| line.starts_with(b"{\"b\"") || line.starts_with(b"{\"c\""));
        assert_eq!(ranges, vec![9..16, 17..24]);
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(Value::from),
            "[a-z,\\[\\]{}\"\\\\ ]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z\"]{1,3}", inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Whatever is removed, from any layout, in chunks of any size: the same length, valid JSON, and the
        /// kept elements in order.
        #[test]
        fn removing_any_elements_leaves_exactly_the_others(
            values in prop::collection::vec(json_value(), 0..12),
            removed in prop::collection::vec(any::<bool>(), 12),
            pretty in any::<bool>(),
            chunk in 1usize..64,
        ) {
            let text = if pretty {
                serde_json::to_string_pretty(&values).expect("serialises")
            } else {
                let lines: Vec<String> = values.iter().map(Value::to_string).collect();
                format!("[\n{}\n]\n", lines.join(",\n"))
            };
            let out = remove_from(&text, chunk, |index| removed[index]);
            prop_assert_eq!(out.len(), text.len());
            let kept: Vec<Value> =
                values.iter().zip(&removed).filter(|(_, gone)| !**gone).map(|(value, _)| value.clone()).collect();
            prop_assert_eq!(elements(&out), kept);
        }
    }
}

;; A validating scan of one JSON object in its bytes (WebAssembly, SIMD inside strings), for
;; json-scan.ts: the same grammar as its scanObject() and JSON.parse, without building anything.
;;
;; scan(start, len): the text is at TEXT_AT = 0, len bytes; scan writes a 0 at len (a byte no token
;; may hold, so every read that would cross the end stops there) and scans the object whose opening
;; brace is at start. It returns the offset after the object and any whitespace that follows, or -1
;; when the bytes are not JSON or nest deeper than MAX_DEPTH (64). For each member of the outermost
;; object it writes five i32 at MEMBERS_AT: key start (its opening quote), key end (after its closing
;; quote), value start, value end, flags (1: the key holds a backslash; 2: the value, when a string,
;; does); their count is the i32 at COUNT_AT. The caller keeps len <= 65536.
;;
;; Source of json-scan.wasm.ts: `node scripts/build-wasm.ts` assembles it (wabt), and
;; test/source/json-scan-wasm.test.ts fails when the two differ.
(module
  ;; 6 pages. TEXT_AT = 0: 65536 bytes, the end mark and the 16 a last block reads. STACK_AT = 65600:
  ;; one byte per depth (0 object, 1 array). COUNT_AT = 65788. MEMBERS_AT = 65792: 20 bytes per member,
  ;; at most 65536 / 5 members (`"":0,` is the shortest).
  (memory (export "memory") 6 6)

  ;; Whether the last string scanned held a backslash.
  (global $escaped (mut i32) (i32.const 0))

  ;; The bytes a string scan stops at, as a 16-bit mask of the block at $i: quote, backslash, below 0x20.
  (func $stops (param $i i32) (result i32)
    (local $v v128)
    (local.set $v (v128.load (local.get $i)))
    (i8x16.bitmask
      (v128.or
        (v128.or
          (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x22)))
          (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x5c))))
        (i8x16.lt_u (local.get $v) (i8x16.splat (i32.const 0x20))))))

  (func $isDigit (param $c i32) (result i32)
    (i32.lt_u (i32.sub (local.get $c) (i32.const 0x30)) (i32.const 10)))

  (func $isHex (param $c i32) (result i32)
    (i32.or
      (call $isDigit (local.get $c))
      (i32.lt_u (i32.sub (i32.or (local.get $c) (i32.const 0x20)) (i32.const 0x61)) (i32.const 6))))

  (func $skipWs (param $i i32) (result i32)
    (local $c i32)
    (block $out
      (loop $next
        (local.set $c (i32.load8_u (local.get $i)))
        (br_if $out
          (i32.and
            (i32.and (i32.ne (local.get $c) (i32.const 0x20)) (i32.ne (local.get $c) (i32.const 0x0a)))
            (i32.and (i32.ne (local.get $c) (i32.const 0x0d)) (i32.ne (local.get $c) (i32.const 0x09)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $i))

  ;; At an opening quote: the offset after the closing one, or -1.
  (func $string (param $i i32) (result i32)
    (local $mask i32)
    (local $c i32)
    (global.set $escaped (i32.const 0))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (loop $next
      (local.set $mask (call $stops (local.get $i)))
      (if (i32.eqz (local.get $mask))
        (then
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br $next)))
      (local.set $i (i32.add (local.get $i) (i32.ctz (local.get $mask))))
      (local.set $c (i32.load8_u (local.get $i)))
      (if (i32.eq (local.get $c) (i32.const 0x22))
        (then (return (i32.add (local.get $i) (i32.const 1)))))
      ;; a control character must be escaped (the end mark is one)
      (if (i32.lt_u (local.get $c) (i32.const 0x20)) (then (return (i32.const -1))))
      (global.set $escaped (i32.const 1))
      (local.set $c (i32.load8_u offset=1 (local.get $i)))
      (if (i32.eq (local.get $c) (i32.const 0x75)) ;; \uXXXX
        (then
          (if (i32.eqz
                (i32.and
                  (i32.and (call $isHex (i32.load8_u offset=2 (local.get $i))) (call $isHex (i32.load8_u offset=3 (local.get $i))))
                  (i32.and (call $isHex (i32.load8_u offset=4 (local.get $i))) (call $isHex (i32.load8_u offset=5 (local.get $i))))))
            (then (return (i32.const -1))))
          (local.set $i (i32.add (local.get $i) (i32.const 6)))
          (br $next)))
      ;; \" \\ \/ \b \f \n \r \t
      (if (i32.or
            (i32.or
              (i32.or (i32.eq (local.get $c) (i32.const 0x22)) (i32.eq (local.get $c) (i32.const 0x5c)))
              (i32.or (i32.eq (local.get $c) (i32.const 0x2f)) (i32.eq (local.get $c) (i32.const 0x62))))
            (i32.or
              (i32.or (i32.eq (local.get $c) (i32.const 0x66)) (i32.eq (local.get $c) (i32.const 0x6e)))
              (i32.or (i32.eq (local.get $c) (i32.const 0x72)) (i32.eq (local.get $c) (i32.const 0x74)))))
        (then
          (local.set $i (i32.add (local.get $i) (i32.const 2)))
          (br $next)))
      (return (i32.const -1)))
    (unreachable))

  (func $digits (param $i i32) (result i32)
    (block $out
      (loop $next
        (br_if $out (i32.eqz (call $isDigit (i32.load8_u (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $i))

  ;; At a number's first byte: the offset after it, or -1.
  (func $number (param $i i32) (result i32)
    (local $c i32)
    (if (i32.eq (i32.load8_u (local.get $i)) (i32.const 0x2d)) (then (local.set $i (i32.add (local.get $i) (i32.const 1)))))
    (local.set $c (i32.load8_u (local.get $i)))
    (if (i32.eq (local.get $c) (i32.const 0x30))
      (then (local.set $i (i32.add (local.get $i) (i32.const 1))))
      (else
        (if (i32.eqz (call $isDigit (local.get $c))) (then (return (i32.const -1))))
        (local.set $i (call $digits (i32.add (local.get $i) (i32.const 1))))))
    (if (i32.eq (i32.load8_u (local.get $i)) (i32.const 0x2e))
      (then
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.eqz (call $isDigit (i32.load8_u (local.get $i)))) (then (return (i32.const -1))))
        (local.set $i (call $digits (local.get $i)))))
    (if (i32.eq (i32.or (i32.load8_u (local.get $i)) (i32.const 0x20)) (i32.const 0x65)) ;; e E
      (then
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $c (i32.load8_u (local.get $i)))
        (if (i32.or (i32.eq (local.get $c) (i32.const 0x2b)) (i32.eq (local.get $c) (i32.const 0x2d)))
          (then (local.set $i (i32.add (local.get $i) (i32.const 1)))))
        (if (i32.eqz (call $isDigit (i32.load8_u (local.get $i)))) (then (return (i32.const -1))))
        (local.set $i (call $digits (local.get $i)))))
    (local.get $i))

  (func (export "scan") (param $i i32) (param $len i32) (result i32)
    (local $depth i32)
    (local $state i32) ;; 0: a value is next, 1: a key is next, 2: a value just ended
    (local $c i32)
    (local $out i32)
    (local $keyStart i32)
    (local $keyEnd i32)
    (local $keyEscaped i32)
    (local $valueStart i32)
    (i32.store8 (local.get $len) (i32.const 0))
    (local.set $out (i32.const 65792))
    (local.set $state (i32.const 0))
    (loop $main
      ;; a value is next
      (if (i32.eqz (local.get $state))
        (then
          (local.set $c (i32.load8_u (local.get $i)))
          (local.set $state (i32.const 2))
          (if (i32.eq (local.get $c) (i32.const 0x22))
            (then
              (local.set $i (call $string (local.get $i)))
              (if (i32.lt_s (local.get $i) (i32.const 0)) (then (return (i32.const -1))))
              (br $main)))
          (if (i32.or (i32.eq (local.get $c) (i32.const 0x7b)) (i32.eq (local.get $c) (i32.const 0x5b)))
            (then
              (local.set $depth (i32.add (local.get $depth) (i32.const 1)))
              (if (i32.gt_u (local.get $depth) (i32.const 64)) (then (return (i32.const -1))))
              (i32.store8 offset=65600 (local.get $depth) (i32.eq (local.get $c) (i32.const 0x5b)))
              (local.set $i (call $skipWs (i32.add (local.get $i) (i32.const 1))))
              ;; empty: the closing bracket matches the opening one
              (if (i32.eq (i32.load8_u (local.get $i)) (i32.add (local.get $c) (i32.const 2)))
                (then
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
                  (br $main)))
              (local.set $state (select (i32.const 0) (i32.const 1) (i32.eq (local.get $c) (i32.const 0x5b))))
              (br $main)))
          (if (i32.eq (local.get $c) (i32.const 0x74)) ;; true
            (then
              (if (i32.ne (i32.load (local.get $i)) (i32.const 0x65757274)) (then (return (i32.const -1))))
              (local.set $i (i32.add (local.get $i) (i32.const 4)))
              (br $main)))
          (if (i32.eq (local.get $c) (i32.const 0x6e)) ;; null
            (then
              (if (i32.ne (i32.load (local.get $i)) (i32.const 0x6c6c756e)) (then (return (i32.const -1))))
              (local.set $i (i32.add (local.get $i) (i32.const 4)))
              (br $main)))
          (if (i32.eq (local.get $c) (i32.const 0x66)) ;; false
            (then
              (if (i32.or
                    (i32.ne (i32.load (local.get $i)) (i32.const 0x736c6166))
                    (i32.ne (i32.load8_u offset=4 (local.get $i)) (i32.const 0x65)))
                (then (return (i32.const -1))))
              (local.set $i (i32.add (local.get $i) (i32.const 5)))
              (br $main)))
          (local.set $i (call $number (local.get $i)))
          (if (i32.lt_s (local.get $i) (i32.const 0)) (then (return (i32.const -1))))
          (br $main)))
      ;; a key is next (whitespace skipped)
      (if (i32.eq (local.get $state) (i32.const 1))
        (then
          (if (i32.ne (i32.load8_u (local.get $i)) (i32.const 0x22)) (then (return (i32.const -1))))
          (local.set $c (local.get $i)) ;; the key's start
          (local.set $i (call $string (local.get $i)))
          (if (i32.lt_s (local.get $i) (i32.const 0)) (then (return (i32.const -1))))
          (if (i32.eq (local.get $depth) (i32.const 1)) ;; a member of the outermost object
            (then
              (local.set $keyStart (local.get $c))
              (local.set $keyEnd (local.get $i))
              (local.set $keyEscaped (global.get $escaped))))
          (local.set $i (call $skipWs (local.get $i)))
          (if (i32.ne (i32.load8_u (local.get $i)) (i32.const 0x3a)) (then (return (i32.const -1))))
          (local.set $i (call $skipWs (i32.add (local.get $i) (i32.const 1))))
          (if (i32.eq (local.get $depth) (i32.const 1)) (then (local.set $valueStart (local.get $i))))
          (local.set $state (i32.const 0))
          (br $main)))
      ;; a value just ended at i: at depth 1 it is a member of the outermost object; at 0 that ended
      (if (i32.eq (local.get $depth) (i32.const 1))
        (then
          (i32.store (local.get $out) (local.get $keyStart))
          (i32.store offset=4 (local.get $out) (local.get $keyEnd))
          (i32.store offset=8 (local.get $out) (local.get $valueStart))
          (i32.store offset=12 (local.get $out) (local.get $i))
          (i32.store offset=16 (local.get $out) (i32.or (local.get $keyEscaped) (i32.shl (global.get $escaped) (i32.const 1))))
          (local.set $out (i32.add (local.get $out) (i32.const 20)))))
      (if (i32.eqz (local.get $depth))
        (then
          (i32.store (i32.const 65788) (i32.div_u (i32.sub (local.get $out) (i32.const 65792)) (i32.const 20)))
          (return (call $skipWs (local.get $i)))))
      (local.set $i (call $skipWs (local.get $i)))
      (local.set $c (i32.load8_u (local.get $i)))
      (if (i32.eq (local.get $c) (i32.const 0x2c))
        (then
          (local.set $i (call $skipWs (i32.add (local.get $i) (i32.const 1))))
          ;; in an object a key is next, in an array a value
          (local.set $state (select (i32.const 0) (i32.const 1) (i32.load8_u offset=65600 (local.get $depth))))
          (br $main)))
      ;; the closing bracket of the container at this depth: } for an object (0x7d), ] for an array (0x5d)
      (if (i32.eq (local.get $c) (select (i32.const 0x5d) (i32.const 0x7d) (i32.load8_u offset=65600 (local.get $depth))))
        (then
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
          (br $main))))
    (i32.const -1))
)

;; text-utils: an Atom piece written by hand in WebAssembly text, to show
;; that the ABI (sdk/piece/ABI.md) needs no SDK. It echoes its input or
;; upper-cases the string values of its input object.
;;
;; Build: wat2wasm -o plugins/pieces/text-utils/text-utils.wasm plugins/pieces/text-utils/text-utils.wat
;; (the .wasm is committed so building Atom needs only Go; a test checks
;; that it is this file assembled)
;;
;; Memory: 0-1023 unused, 1024 the manifest (NUL-terminated), 8192 constant
;; strings, 65536 onwards a bump heap reset at the first atom_alloc after
;; each atom_execute.
(module
  (import "atom" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 2)

  (global $heap (mut i32) (i32.const 65536))
  (global $reset (mut i32) (i32.const 0))

  (data (i32.const 1024) "{\"id\":\"text-utils\",\"name\":\"Text utilities\",\"version\":\"1.0.0\",\"abi\":1,\"description\":\"Echo or upper-case text; a piece written in WebAssembly text.\",\"categories\":[\"development\",\"other\"],\"hosts\":[],\"auth\":{\"kind\":\"none\"},\"actions\":[{\"name\":\"echo\",\"display_name\":\"Echo\",\"description\":\"Return the input unchanged.\",\"input_schema\":{\"type\":\"object\"}},{\"name\":\"uppercase\",\"display_name\":\"Upper-case\",\"description\":\"Upper-case the ASCII letters of every string value of the input.\",\"input_schema\":{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\",\"title\":\"Text\"}},\"required\":[\"text\"]}}]}\00")

  ;; constant strings at 8192
  (data (i32.const 8192) "\"action\":\"")          ;; 10 bytes
  (data (i32.const 8208) "\"input\":")             ;; 8 bytes
  (data (i32.const 8224) "echo\"")                 ;; 5 bytes
  (data (i32.const 8240) "uppercase\"")            ;; 10 bytes
  (data (i32.const 8256) "{\"output\":")           ;; 10 bytes
  (data (i32.const 8272) "{\"diagnostics\":[{\"severity\":\"error\",\"summary\":\"unknown action or missing input\"}]}") ;; 82 bytes
  (data (i32.const 8368) "text-utils: execute") ;; 19 bytes

  (func (export "atom_abi_version") (result i32) (i32.const 1))

  ;; $alloc returns size bytes from the heap, growing memory as needed.
  (func $alloc (param $size i32) (result i32)
    (local $ptr i32) (local $end i32) (local $have i32)
    (if (global.get $reset)
      (then (global.set $heap (i32.const 65536)) (global.set $reset (i32.const 0))))
    (local.set $ptr (global.get $heap))
    (local.set $end (i32.and (i32.add (i32.add (local.get $ptr) (local.get $size)) (i32.const 7)) (i32.const -8)))
    (local.set $have (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 65535)) (i32.const 16)))
              (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $ptr))

  (func (export "atom_alloc") (param $size i32) (result i32) (call $alloc (local.get $size)))

  (func (export "atom_free") (param i32 i32))

  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32)) (i64.extend_i32_u (local.get $len))))

  (func (export "atom_manifest") (result i64)
    (local $n i32)
    (block $done
      (loop $scan
        (br_if $done (i32.eqz (i32.load8_u (i32.add (i32.const 1024) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $scan)))
    (call $pack (i32.const 1024) (local.get $n)))

  ;; $find returns the index just past the first occurrence of needle in
  ;; hay, or -1.
  (func $find (param $hay i32) (param $hayLen i32) (param $needle i32) (param $needleLen i32) (result i32)
    (local $i i32) (local $j i32)
    (block $notfound
      (loop $outer
        (br_if $notfound (i32.gt_s (i32.add (local.get $i) (local.get $needleLen)) (local.get $hayLen)))
        (local.set $j (i32.const 0))
        (block $mismatch
          (loop $inner
            (if (i32.eq (local.get $j) (local.get $needleLen))
              (then (return (i32.add (local.get $i) (local.get $needleLen)))))
            (br_if $mismatch (i32.ne
              (i32.load8_u (i32.add (i32.add (local.get $hay) (local.get $i)) (local.get $j)))
              (i32.load8_u (i32.add (local.get $needle) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $inner)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (i32.const -1))

  ;; $valueEnd returns the index just past the JSON object, array or
  ;; literal starting at p (p < end), tracking strings and escapes.
  (func $valueEnd (param $p i32) (param $end i32) (result i32)
    (local $c i32) (local $depth i32) (local $inStr i32) (local $esc i32)
    (block $out
      (loop $scan
        (br_if $out (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $p)))
        (if (local.get $inStr)
          (then
            (if (local.get $esc)
              (then (local.set $esc (i32.const 0)))
              (else
                (if (i32.eq (local.get $c) (i32.const 92)) (then (local.set $esc (i32.const 1))))
                (if (i32.eq (local.get $c) (i32.const 34)) (then (local.set $inStr (i32.const 0)))))))
          (else
            (if (i32.eq (local.get $c) (i32.const 34)) (then (local.set $inStr (i32.const 1))))
            (if (i32.or (i32.eq (local.get $c) (i32.const 123)) (i32.eq (local.get $c) (i32.const 91)))
              (then (local.set $depth (i32.add (local.get $depth) (i32.const 1)))))
            (if (i32.or (i32.eq (local.get $c) (i32.const 125)) (i32.eq (local.get $c) (i32.const 93)))
              (then
                (if (i32.eqz (local.get $depth)) (then (return (local.get $p))))
                (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
                (if (i32.eqz (local.get $depth)) (then (return (i32.add (local.get $p) (i32.const 1)))))))
            (if (i32.and (i32.eqz (local.get $depth)) (i32.eq (local.get $c) (i32.const 44)))
              (then (return (local.get $p))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $scan)))
    (local.get $p))

  ;; $upper upper-cases, in place, the ASCII letters of every string in
  ;; [p, end) that is not an object key, leaving escape sequences alone.
  (func $upper (param $p i32) (param $end i32)
    (local $c i32) (local $s i32) (local $q i32) (local $esc i32)
    (block $out
      (loop $scan
        (br_if $out (i32.ge_u (local.get $p) (local.get $end)))
        (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 34))
          (then
            ;; find the closing quote
            (local.set $s (i32.add (local.get $p) (i32.const 1)))
            (local.set $q (local.get $s))
            (local.set $esc (i32.const 0))
            (block $closed
              (loop $str
                (br_if $closed (i32.ge_u (local.get $q) (local.get $end)))
                (local.set $c (i32.load8_u (local.get $q)))
                (if (local.get $esc)
                  (then (local.set $esc (i32.const 0)))
                  (else
                    (br_if $closed (i32.eq (local.get $c) (i32.const 34)))
                    (if (i32.eq (local.get $c) (i32.const 92)) (then (local.set $esc (i32.const 1))))))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $str)))
            ;; a value unless a colon follows
            (if (i32.ne (i32.load8_u (i32.add (local.get $q) (i32.const 1))) (i32.const 58))
              (then
                (local.set $esc (i32.const 0))
                (block $done
                  (loop $up
                    (br_if $done (i32.ge_u (local.get $s) (local.get $q)))
                    (local.set $c (i32.load8_u (local.get $s)))
                    (if (local.get $esc)
                      (then (local.set $esc (i32.const 0)))
                      (else
                        (if (i32.eq (local.get $c) (i32.const 92))
                          (then (local.set $esc (i32.const 1)))
                          (else
                            (if (i32.and (i32.ge_u (local.get $c) (i32.const 97)) (i32.le_u (local.get $c) (i32.const 122)))
                              (then (i32.store8 (local.get $s) (i32.sub (local.get $c) (i32.const 32)))))))))
                    (local.set $s (i32.add (local.get $s) (i32.const 1)))
                    (br $up)))))
            (local.set $p (local.get $q))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $scan))))

  (func (export "atom_execute") (param $ptr i32) (param $len i32) (result i64)
    (local $a i32) (local $i i32) (local $vend i32) (local $n i32) (local $out i32) (local $isUpper i32)
    (global.set $reset (i32.const 1))
    (call $log (i32.const 1) (i32.const 8368) (i32.const 19))
    (local.set $a (call $find (local.get $ptr) (local.get $len) (i32.const 8192) (i32.const 10)))
    (local.set $i (call $find (local.get $ptr) (local.get $len) (i32.const 8208) (i32.const 8)))
    (block $fail
      (br_if $fail (i32.or (i32.lt_s (local.get $a) (i32.const 0)) (i32.lt_s (local.get $i) (i32.const 0))))
      (local.set $a (i32.add (local.get $ptr) (local.get $a)))
      (if (i32.ge_s (call $find (local.get $a) (i32.const 10) (i32.const 8240) (i32.const 10)) (i32.const 0))
        (then (local.set $isUpper (i32.const 1)))
        (else (br_if $fail (i32.lt_s (call $find (local.get $a) (i32.const 5) (i32.const 8224) (i32.const 5)) (i32.const 0)))))
      (local.set $i (i32.add (local.get $ptr) (local.get $i)))
      (local.set $vend (call $valueEnd (local.get $i) (i32.add (local.get $ptr) (local.get $len))))
      (local.set $n (i32.sub (local.get $vend) (local.get $i)))
      (br_if $fail (i32.eqz (local.get $n)))
      (if (local.get $isUpper) (then (call $upper (local.get $i) (local.get $vend))))
      ;; {"output": <value>}
      (local.set $out (call $alloc (i32.add (local.get $n) (i32.const 11))))
      (memory.copy (local.get $out) (i32.const 8256) (i32.const 10))
      (memory.copy (i32.add (local.get $out) (i32.const 10)) (local.get $i) (local.get $n))
      (i32.store8 (i32.add (local.get $out) (i32.add (local.get $n) (i32.const 10))) (i32.const 125))
      (return (call $pack (local.get $out) (i32.add (local.get $n) (i32.const 11)))))
    (call $pack (i32.const 8272) (i32.const 82)))
)

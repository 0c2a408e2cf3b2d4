;;; harness.el --- what the Emacs scenarios share  -*- lexical-binding: t; -*-
;;
;; Loaded first by tests/e2e/emacs/*.el (run by test_eglot.py and test_lsp_mode.py in
;; `emacs --batch'): the workspace and its scripted provider, waiting on predicates (never
;; fixed sleeps), the person's answers, and a failure report with what Baton was doing.
;;
;; The person's answers are stubs: `completing-read' picks "Allow once" or "Accept
;; plan", `y-or-n-p' agrees to edit files not visited yet. Batch Emacs is never idle,
;; so the wait loop runs idle timers itself (Eglot and lsp-mode send changes on one).

(require 'cl-lib)
(require 'json)
(setq create-lockfiles t make-backup-files nil)
(defvar baton-test-tmp (getenv "BATON_TEST_TMP"))
(defvar baton-test-ws (expand-file-name "ws" baton-test-tmp))
(defvar baton-test-states nil "(runId . state), newest first.")
(defvar baton-test-messages nil)
(defvar baton-test-prompts nil)
(defvar baton-test-step "start")

(defvar baton-test-server-pid (lambda () nil) "The scenario's: the pid of `baton serve'.")

(defun baton-test-fail (fmt &rest args)
  ;; Python dumps every thread's stack on SIGABRT (PYTHONFAULTHANDLER): where Baton was.
  (when-let ((pid (ignore-errors (funcall baton-test-server-pid))))
    (call-process "pkill" nil nil nil "-ABRT" "-P" (number-to-string pid))
    (signal-process pid 'SIGABRT)
    (accept-process-output nil 1))
  (princ (format "\nSCENARIO FAILED at %s: %s\nstates: %S\nprompts: %S\nmessages:\n%s\n"
                 baton-test-step (apply #'format fmt args) (reverse baton-test-states)
                 (reverse baton-test-prompts) (mapconcat #'identity (reverse baton-test-messages) "\n"))
         #'external-debugging-output)
  (dolist (b (buffer-list)) ; the server's stderr and Eglot's event log, tails
    (when (string-match-p "stderr\\|events\\|lsp-log" (buffer-name b))
      (princ (format "\n--- %s ---\n%s\n" (buffer-name b)
                     (with-current-buffer b
                       (buffer-substring-no-properties (max (point-min) (- (point-max) 12000)) (point-max))))
             #'external-debugging-output)))
  (kill-emacs 1))

(defun baton-test-wait (what pred &optional timeout)
  (setq baton-test-step (format "waiting for %s" what))
  (let ((deadline (+ (float-time) (or timeout 30))))
    (while (not (funcall pred))
      (when (> (float-time) deadline) (baton-test-fail "timed out"))
      (accept-process-output nil 0.05)
      (dolist (timer (copy-sequence timer-idle-list)) ; batch Emacs never idles
        (timer-event-handler timer)))))

(defun baton-test-write (rel text)
  (let ((path (expand-file-name rel baton-test-ws)))
    (make-directory (file-name-directory path) t)
    (let ((coding-system-for-write 'utf-8-unix)) (write-region text nil path nil 'silent))))

(defun baton-test-read (rel)
  (let ((path (expand-file-name rel baton-test-ws)))
    (when (file-exists-p path)
      (with-temp-buffer (let ((coding-system-for-read 'utf-8)) (insert-file-contents path))
                        (buffer-string)))))

(defun baton-test-check (ok fmt &rest args)
  (unless ok (apply #'baton-test-fail fmt args)))

(defun baton-test-state (run-id)
  (cdr (assoc run-id baton-test-states)))

(defun baton-test-wait-state (run-id state)
  (baton-test-wait (format "run %s in %s" run-id state)
                   (lambda ()
                     (baton-test-check (not (equal (baton-test-state run-id) "failed")) "the run failed")
                     (equal (baton-test-state run-id) state))))

;; -- the workspace and a scripted provider -------------------------------------------
(defconst baton-test-hello
  "GREETING = \"é😀\"  # non-ASCII and astral before the edit\n\n\ndef hello():\n    return 1\n")
(make-directory (expand-file-name ".git" baton-test-ws) t)
(baton-test-write "hello.py" baton-test-hello)
(baton-test-write "b.py" "a = 1\n")
(defun baton-test-call (name args) `((tool_calls . [((name . ,name) (arguments . ,args))])))
(let ((script
       `((classifier . [,(baton-test-call "classify" '((route . "plan") (reason . "test")))])
         (planner . [,(baton-test-call "submit_plan" '((summary . "Greet by name") (steps . ["Edit"])
                                                       (files . ["hello.py" "b.py"])))])
         (implementer
          . [,(baton-test-call "edit_file" '((path . "hello.py")
                                             (old . "# non-ASCII and astral before the edit")
                                             (new . "# edited after é😀")))
             ,(baton-test-call "edit_file" '((path . "hello.py") (old . "def hello():")
                                             (new . "def hello(name):")))
             ,(baton-test-call "edit_file" '((path . "b.py") (old . "a = 1") (new . "a = 2")))
             ,(baton-test-call "write_file" '((path . "NOTES.txt") (content . "x is two now\n")))
             ,(baton-test-call "finish" '((summary . "done")))])
         (reviewer . [,(baton-test-call "submit_review"
                                        '((verdict . "approve")
                                          (findings . [((path . "hello.py") (line . 4)
                                                        (message . "name is unused")
                                                        (severity . "warning"))])))]))))
  (let ((coding-system-for-write 'utf-8-unix))
    (with-temp-file (expand-file-name "script.json" baton-test-tmp)
      (insert (json-encode script)))))
(with-temp-file (expand-file-name "baton.toml" baton-test-tmp)
  (insert "[providers.offline]\nkind = \"scripted\"\nscript = \"script.json\"\n"))
(setenv "BATON_CONFIG" (expand-file-name "baton.toml" baton-test-tmp))

;; -- the person ------------------------------------------------------------------------
(advice-add 'message :before
            (lambda (fmt &rest args) (when fmt (push (apply #'format fmt args) baton-test-messages))))
(defun completing-read (prompt collection &rest _)
  (push prompt baton-test-prompts)
  (let ((titles (cond ((hash-table-p collection) (hash-table-keys collection))
                      (t (mapcar (lambda (c) (if (consp c) (car c) c)) collection)))))
    (cond ((string-match-p "NOTES.txt" prompt) "Allow once")
          ((member "Accept plan" titles) "Accept plan")
          (t (baton-test-fail "an unexpected prompt: %s %S" prompt titles)))))
(defun y-or-n-p (prompt) (push prompt baton-test-prompts) t)
(defun yes-or-no-p (prompt) (push prompt baton-test-prompts) t)
(advice-add 'ask-user-about-supersession-threat :override ; "changed on disk; really edit?": yes
            (lambda (file) (push (format "supersession %s" file) baton-test-prompts)))

;; -- what both scenarios check ----------------------------------------------------------
(defconst baton-test-hello-edited
  (replace-regexp-in-string
   "def hello():" "def hello(name):"
   (replace-regexp-in-string "# non-ASCII and astral before the edit" "# edited after é😀"
                             baton-test-hello)
   t t))

(defun baton-test-buffer-text (rel)
  (let ((b (find-buffer-visiting (expand-file-name rel baton-test-ws))))
    (and b (with-current-buffer b (buffer-string)))))

(defun baton-test-check-run (hello-buffer)
  "After the run: the edits in HELLO-BUFFER and b.py, NOTES.txt, the permission asked."
  (setq baton-test-step "checking the edits")
  (with-current-buffer hello-buffer
    (baton-test-check (equal (buffer-string) baton-test-hello-edited) "hello.py is %S" (buffer-string)))
  (baton-test-check (equal (baton-test-buffer-text "b.py") "a = 2\n")
                    "b.py (closed) not visited with the edit: %S" (baton-test-buffer-text "b.py"))
  (baton-test-check (cl-find-if (lambda (p) (string-match-p "NOTES.txt" p)) baton-test-prompts)
                    "no permission prompt"))

(defun baton-test-check-revert (hello-buffer)
  "After the revert: everything back, nothing asked."
  (baton-test-wait "hello.py reverted"
                   (lambda () (equal (with-current-buffer hello-buffer (buffer-string)) baton-test-hello)))
  (baton-test-wait "b.py reverted" (lambda () (equal (baton-test-buffer-text "b.py") "a = 1\n")))
  (baton-test-wait "NOTES.txt deleted" (lambda () (not (baton-test-read "NOTES.txt"))))
  (let ((conflicts (cl-remove-if-not (lambda (p) (string-match-p "What should Baton do" p))
                                     baton-test-prompts)))
    (baton-test-check (null conflicts) "a conflict question: %S" conflicts)))

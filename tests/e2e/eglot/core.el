;;; core.el --- Baton's core flow in Eglot, in emacs --batch  -*- lexical-binding: t; -*-
;;
;; Run by tests/e2e/test_eglot.py with Debian's elpa-eglot (1.9) and the documented
;; snippet (docs/snippets/eglot.el): a run from `baton-run', the plan named in a
;; message (Eglot 1.9 has no window/showDocument), the "Accept plan" code action
;; picked through `eglot-code-actions', an edit in the open buffer after é😀, a closed
;; file edited (visited by Eglot, saved as the person would), a file created where
;; Eglot cannot create files, a permission prompt answered through completing-read,
;; a review finding in Flymake, and a revert that gives everything back.
;;
;; The person's answers are stubs: `completing-read' picks "Allow once" or "Accept
;; plan", `y-or-n-p' agrees to edit files not visited yet. Batch Emacs is never idle,
;; so the wait loop runs idle timers itself (Eglot sends changes on one).

(require 'cl-lib)
(require 'json)
(setq create-lockfiles t make-backup-files nil eglot-sync-connect t eglot-autoreconnect nil)
(defvar baton-test-tmp (getenv "BATON_TEST_TMP"))
(defvar baton-test-ws (expand-file-name "ws" baton-test-tmp))
(defvar baton-test-states nil "(runId . state), newest first.")
(defvar baton-test-messages nil)
(defvar baton-test-prompts nil)
(defvar baton-test-step "start")

(defun baton-test-fail (fmt &rest args)
  ;; Python dumps every thread's stack on SIGABRT (PYTHONFAULTHANDLER): where Baton was.
  (let ((server (ignore-errors (eglot-current-server))))
    (when-let ((pid (and server (process-id (jsonrpc--process server)))))
      (call-process "pkill" nil nil nil "-ABRT" "-P" (number-to-string pid))
      (signal-process pid 'SIGABRT)
      (accept-process-output nil 1)))
  (princ (format "\nSCENARIO FAILED at %s: %s\nstates: %S\nprompts: %S\nmessages:\n%s\n"
                 baton-test-step (apply #'format fmt args) (reverse baton-test-states)
                 (reverse baton-test-prompts) (mapconcat #'identity (reverse baton-test-messages) "\n"))
         #'external-debugging-output)
  (dolist (b (buffer-list)) ; the server's stderr and Eglot's event log, tails
    (when (string-match-p "stderr\\|events" (buffer-name b))
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

;; -- the documented set-up, and the person --------------------------------------------
(load (expand-file-name "snippets/eglot.el" (getenv "BATON_DOCS")) nil t)
(advice-add 'eglot--message :before
            (lambda (fmt &rest args) (push (apply #'format fmt args) baton-test-messages)))
(advice-add 'message :before
            (lambda (fmt &rest args) (when fmt (push (apply #'format fmt args) baton-test-messages))))
(cl-defmethod eglot-handle-notification :before
  (_server (_method (eql baton/runChanged)) &key runId state &allow-other-keys)
  (push (cons runId state) baton-test-states))
(defun completing-read (prompt collection &rest _)
  (push prompt baton-test-prompts)
  (let ((titles (mapcar (lambda (c) (if (consp c) (car c) c)) collection)))
    (cond ((string-match-p "NOTES.txt" prompt) "Allow once")
          ((member "Accept plan" titles) "Accept plan")
          (t (baton-test-fail "an unexpected prompt: %s %S" prompt titles)))))
(defun y-or-n-p (prompt) (push prompt baton-test-prompts) t)

;; -- the flow -------------------------------------------------------------------------
(setq baton-test-step "opening hello.py")
(find-file (expand-file-name "hello.py" baton-test-ws))
(defvar baton-test-hello-buffer (current-buffer))
(apply #'eglot--connect (eglot--guess-contact)) ; what eglot-ensure does after a command
(baton-test-wait "Eglot to manage hello.py" (lambda () (eglot-current-server)))

(setq baton-test-step "baton-run")
(baton-run "Greet by name and take notes")
(defvar baton-test-run baton-last-run)
(baton-test-check (stringp baton-test-run) "no run id: %S" baton-test-run)
(baton-test-wait-state baton-test-run "awaiting_approval")
(defvar baton-test-plan (expand-file-name (format ".baton/runs/%s/plan.md" baton-test-run) baton-test-ws))
(baton-test-wait "the plan named in a message, with how to accept"
                 (lambda () (cl-find-if (lambda (m) (and (string-search baton-test-plan m)
                                                         (string-search "Accept plan" m)))
                                        baton-test-messages)))

(setq baton-test-step "Accept plan")
(find-file baton-test-plan)
(baton-test-wait "Eglot to manage plan.md" (lambda () (eglot-current-server)))
(let ((last-nonmenu-event ?a)) ; a keyboard-driven choice: completing-read, not a menu
  (eglot-code-actions (point-min) (point-max) nil t))
(baton-test-wait-state baton-test-run "done")

(setq baton-test-step "checking the edits")
(with-current-buffer baton-test-hello-buffer
  (baton-test-check (equal (buffer-string)
                           (replace-regexp-in-string
                            "def hello():" "def hello(name):"
                            (replace-regexp-in-string "# non-ASCII and astral before the edit"
                                                      "# edited after é😀" baton-test-hello)
                            t t))
                    "hello.py is %S" (buffer-string)))
(let ((b (find-buffer-visiting (expand-file-name "b.py" baton-test-ws))))
  (baton-test-check (and b (equal (with-current-buffer b (buffer-string)) "a = 2\n"))
                    "b.py (closed) not visited with the edit"))
(baton-test-check (equal (baton-test-read "NOTES.txt") "x is two now\n") "NOTES.txt: %S"
                  (baton-test-read "NOTES.txt"))
(baton-test-check (cl-find-if (lambda (p) (string-match-p "NOTES.txt" p)) baton-test-prompts)
                  "no permission prompt")
(with-current-buffer baton-test-hello-buffer
  (baton-test-wait "the review finding in Flymake"
                   (lambda ()
                     (flymake-start)
                     (cl-find-if (lambda (d) (string-search "name is unused" (flymake-diagnostic-text d)))
                                 (flymake-diagnostics)))))
(save-some-buffers t) ; as the person would
(baton-test-check (equal (baton-test-read "b.py") "a = 2\n") "b.py on disk: %S" (baton-test-read "b.py"))

(setq baton-test-step "baton-revert")
(set-buffer baton-test-hello-buffer)
(baton-revert baton-test-run)
(baton-test-wait "hello.py reverted"
                 (lambda () (equal (with-current-buffer baton-test-hello-buffer (buffer-string))
                                   baton-test-hello)))
(baton-test-wait "b.py reverted"
                 (lambda () (equal (with-current-buffer (find-buffer-visiting
                                                         (expand-file-name "b.py" baton-test-ws))
                                     (buffer-string))
                                   "a = 1\n")))
(baton-test-wait "NOTES.txt deleted" (lambda () (not (baton-test-read "NOTES.txt"))))
(let ((conflicts (cl-remove-if-not (lambda (p) (string-match-p "What should Baton do" p))
                                   baton-test-prompts)))
  (baton-test-check (null conflicts) "a conflict question: %S" conflicts))

(setq baton-test-step "shutting down")
(eglot-shutdown (eglot-current-server))
(princ "SCENARIO OK\n")
(kill-emacs 0)

/*
 * lockfile.pml -- SPIN model of DurableIO's LockFile (Sources/DurableIO/Lock/LockFile.swift and
 * LockFileReclaim.swift): O_EXCL create, staleness on proof (dead owner) or by age (unreadable record,
 * a paused or foreign holder), and the one way a lock file ever leaves the lock path: a *reclaim guard*
 * `<lock>.reclaim-<key>-<k>` created with O_EXCL, a fresh inspection of the lock path under it, the
 * rename to a unique tombstone, the identity comparison, the unlink. The key is the file's (device, inode):
 * it never changes over a file's life, so everyone removing that file -- whatever state they saw it in --
 * competes for one guard. Release goes through the same guard, and waits while a live process holds it.
 * A file that is not the one expected is never put back and never deleted: it is left under its tombstone.
 *
 * See README.md next to this file for what is modelled, what is abstracted, and the results.
 *
 * Configuration (all with -D on the spin command line):
 *   N         processes (each one LockFile handle in its own process)            default 3
 *   ROUNDS    acquire / critical section / release rounds per process            default 1
 *   MAXATT    iterations of tryAcquire's retry loop (the code has 8)             default 2
 *   MAXK      guard generations k per key (the code has 8)                       default MAXCRASH+1
 *   MAXCRASH  processes that may crash, at any step                             default 1
 *   HB        heartbeat checks a holder makes in its critical section            default 1
 *   AGE       0: main model, a live process is never judged stale (no lock file, no guard)
 *             1: age configuration: ANY lock file may be judged stale by age at any time (a paused
 *                holder, or one on another host with foreignHostStaleAge); guards on proof only
 *             2: as 1, and any guard too (a process paused inside its guarded section)   default 0
 *   EMPTYAGE  1: an empty file (lock or guard) whose creator died before writing may be judged stale
 *             0: only records with a dead pid are stale                          default 1
 *   MUTANT    0 the algorithm as written; each other value removes one safety step:
 *             1 no reclaim guard: reclaim re-inspects and renames without one
 *             2 no fresh inspection under the guard (the snapshot from before the guard is trusted)
 *             3 the inspection under the guard compares the inode only
 *             4 the inspection under the guard compares inode + content, not mtime
 *             5 a guard is taken over without proof that its holder is dead
 *             6 release renames the lock path without taking the guard
 *             7 a moved file that is not the one expected is put back with link (the old algorithm)
 *             8 a moved file that is not the one expected is unlinked
 *             9 the guard is removed before the rename (right after the inspection)
 *            10 a dead guard is removed and its name reused, instead of moving on to generation k+1
 *            11 the guard key includes the content (and the mtime while the file has no record): the key
 *               of the previous version, which changes when an empty file gets its record
 *            12 release gives up (lockCompromised, its file left) when a live process holds the guard,
 *               instead of waiting for it
 *   Properties (each may be switched on independently; check.sh runs them one at a time):
 *   P_ME      (a) mutual exclusion among live, uncompromised holders (checked at CS entry)
 *   P_RELDEL  (b) release never takes another current holder's file off the lock path
 *   P_RECDEL  (b') reclaim never deletes the file of a current holder it did not judge stale
 *             (and, with AGE < 2, never takes one off the lock path)
 *   P_WEDGE   (d) the lock path never names a file whose live owner has released it (at the end)
 *   P_NOFALSE (d') without age-based judgement, a holder never hears "compromised" (no false alarm)
 *   P_CLEAN   (c) with no crash: at the end the lock path is free, no tombstone and no guard is left
 *   P_DETECT  (e) no silent overlap: when two live acquisitions were in the critical section at the
 *             same time, at least one of them learns it (heartbeat or release throws lockCompromised)
 */

#ifndef N
#define N 3
#endif
#ifndef ROUNDS
#define ROUNDS 1
#endif
#ifndef MAXATT
#define MAXATT 2
#endif
#ifndef MAXCRASH
#define MAXCRASH 1
#endif
#ifndef MAXK
#define MAXK (MAXCRASH+1)
#endif
#ifndef HB
#define HB 1
#endif
#ifndef AGE
#define AGE 0
#endif
#ifndef MUTANT
#define MUTANT 0
#endif
#ifndef EMPTYAGE
#define EMPTYAGE 1
#endif

#define MAXOBJ (N*ROUNDS)   /* every successful O_EXCL create of the lock path is one file object */
#define NI     MAXOBJ       /* inode pool: enough that a create never runs out, small enough to reuse */
#define NONE   0
#if MUTANT == 11
#define NKEY   (2*MAXOBJ+2) /* guard keys: (object, record written?) -- the old key, README "the guard key" */
#else
#define NKEY   (NI+1)       /* guard keys: the inode number (one device) -- README, "the guard key" */
#endif
#define GI(key, k) ((key) * (MAXK+1) + (k))

/* results of remove_under_guard */
#define REMOVED 1
#define CHANGED 2
#define BUSY    3

/* ---- the directory ------------------------------------------------------------------------------- */
byte path;                  /* file object named by the lock path, NONE when absent */
byte tomb[N];               /* file object named by process p's current tombstone */
byte leaked;                /* tombstones deliberately left behind (a file that was not the expected one) */
byte g_who[NKEY*(MAXK+1)];  /* guard <lock>.reclaim-<key>-<k>: 0 absent, else creator pid + 1 */
bit  g_rec[NKEY*(MAXK+1)];  /* its record is written (else: empty, unreadable) */

/* ---- lock file objects 1..MAXOBJ ----------------------------------------------------------------- */
byte o_ino[MAXOBJ+1];       /* inode number, from the pool; reused once the object is freed */
byte o_cont[MAXOBJ+1];      /* content: 0 = empty (record not yet written), else the nonce (= object id) */
byte o_ver[MAXOBJ+1];       /* mtime version: bumped by the record write and by heartbeat touches */
byte o_nlink[MAXOBJ+1];     /* names (path or tombstones) */
byte o_nopen[MAXOBJ+1];     /* open descriptors; an inode is freed at nlink == 0 && nopen == 0 */
byte o_creator[MAXOBJ+1];   /* ghost: the process whose acquisition created it */
bool o_released[MAXOBJ+1];  /* ghost: its owner has finished release() for it */
bool o_reported[MAXOBJ+1];  /* ghost: its owner learnt it was compromised (heartbeat or release) */
bit  ino_used[NI+1];
byte nobj;

/* observable mtime: distinct objects never share an mtime (README: sound for every comparison made) */
#define MT(o) ((o) * 16 + o_ver[o])

/* ---- processes ----------------------------------------------------------------------------------- */
bool dead[N];
bool fin[N];
bool incs[N];               /* ghost: in the critical section */
bool comp[N];               /* Held.compromised, set by the heartbeat */
byte holdObj[N];            /* ghost: the object of the current acquisition (create .. release start) */
byte fdHeld[N];             /* Held.fd */
byte crashes;
byte finished;
#ifdef P_DETECT
bit  ov[(MAXOBJ+1)*(MAXOBJ+1)];
#endif

hidden byte h_i, h_j, h_last;     /* scratch inside atomic blocks only */

inline maybe_free(o) {
  if
  :: o_nlink[o] == 0 && o_nopen[o] == 0 -> ino_used[o_ino[o]] = 0
  :: else -> skip
  fi
}

inline pick_inode() {
  h_last = 0; h_j = 1;
  do
  :: h_j <= NI -> if :: !ino_used[h_j] -> h_last = h_j :: else -> skip fi; h_j++
  :: else -> break
  od;
  assert(h_last != 0);
  h_i = 1;
  do
  :: !ino_used[h_i] -> break
  :: h_i < h_last -> h_i++
  od
}

inline check_me() {
  h_j = 0;
  do
  :: h_j < N ->
     assert(!(h_j != me && incs[h_j] && !dead[h_j] && !comp[h_j]));
     h_j++
  :: else -> break
  od
}

/* the fresh inspection under the guard: is the lock path still the file expected? */
#if MUTANT == 3
#define FRESH_SAME(matchMtime) (path != NONE && o_ino[path] == expIno)
#elif MUTANT == 4
#define FRESH_SAME(matchMtime) (path != NONE && o_ino[path] == expIno && o_cont[path] == expCont)
#else
#define FRESH_SAME(matchMtime) (path != NONE && o_ino[path] == expIno && o_cont[path] == expCont && (!(matchMtime) || MT(path) == expMt))
#endif
/* the comparison of the tombstone after the rename */
#define TOMB_SAME(matchMtime) (o_ino[t] == expIno && o_cont[t] == expCont && (!(matchMtime) || MT(t) == expMt))

active [N] proctype P() {
  byte me = _pid;
  byte r, att, o, sIno, sMt, sCont, t, mine, myIno, hb, judged;
  byte expIno, expMt, expCont, gkey, k, gseen, res;
  bool ok, same, got, gseenRec, isRel;

  {
  do
  :: r < ROUNDS ->
     atomic { r++; att = 0 }
ATTEMPT:
     /* create(): open(O_CREAT|O_EXCL|O_NOFOLLOW) */
     atomic {
       if
       :: att >= MAXATT -> goto FAILED
       :: else -> att++
       fi;
       if
       :: path == NONE ->
          nobj++; o = nobj; pick_inode(); o_ino[o] = h_i; ino_used[h_i] = 1;
          o_cont[o] = 0; o_ver[o] = 0; o_nlink[o] = 1; o_nopen[o] = 1; o_creator[o] = me;
          path = o; fdHeld[me] = o; holdObj[me] = o; ok = 1;
          printf("MSC: P%d create(O_EXCL) succeeds: file %d, inode %d (empty)\n", me, o, h_i)
       :: else -> ok = 0
       fi
     }
     if
     :: ok ->
        /* nextToken(), writeAll(record), fsync, fsync dir, fstat(fd); tryAcquire returns true */
        atomic {
          o_cont[o] = o; o_ver[o]++; mine = o; myIno = o_ino[o]; o = 0; ok = 0;
          printf("MSC: P%d writes its record into file %d and ENTERS the critical section\n", me, mine);
#ifdef P_ME
          check_me();
#endif
#ifdef P_DETECT
          h_j = 0;
          do
          :: h_j < N ->
             if
             :: h_j != me && incs[h_j] && !dead[h_j] ->
                ov[holdObj[h_j] * (MAXOBJ+1) + mine] = 1; ov[mine * (MAXOBJ+1) + holdObj[h_j]] = 1
             :: else -> skip
             fi;
             h_j++
          :: else -> break
          od;
#endif
          incs[me] = 1
        }
        goto ACQUIRED
     :: else -> skip
     fi;
     /* inspect(): open(path), fstat, read, close */
     atomic {
       if
       :: path != NONE -> judged = path; sIno = o_ino[judged]; sMt = MT(judged); sCont = o_cont[judged];
          printf("MSC: P%d create fails (EEXIST); inspects file %d (of P%d; record written: %d)\n", me, judged, o_creator[judged], sCont != 0)
       :: else -> goto ATTEMPT
       fi
     }
     /* isStale(seen) */
     atomic {
       if
       :: sCont == 0 ->
#if AGE
          if :: ok = 1 :: ok = 0 fi
#else
          if
          :: EMPTYAGE && dead[o_creator[judged]] && o_cont[judged] == 0 -> if :: ok = 1 :: ok = 0 fi
          :: else -> ok = 0
          fi
#endif
       :: else ->
          ok = dead[o_creator[sCont]];
#if AGE
          if :: ok = 1 :: skip fi
#endif
       fi;
       expIno = sIno; expMt = sMt; expCont = sCont;
#if MUTANT == 11
       gkey = judged * 2 + (sCont != 0);
#else
       gkey = sIno;
#endif
       sIno = 0; sMt = 0; sCont = 0;
       if
       :: !ok -> printf("MSC: P%d: not stale, tryAcquire returns false\n", me);
                 expIno = 0; expMt = 0; expCont = 0; judged = 0; gkey = 0; goto FAILED
       :: else -> ok = 0; printf("MSC: P%d judges file %d STALE (creator P%d; dead: %d)\n", me, judged, o_creator[judged], dead[o_creator[judged]])
       fi
     }
     isRel = 0; goto REMOVE;
RECLAIMED:
     atomic {
       expIno = 0; expMt = 0; expCont = 0; judged = 0; gkey = 0;
       if
       :: res != BUSY -> res = 0; goto ATTEMPT            /* .removed or .changed: create again */
       :: else -> res = 0; printf("MSC: P%d: tryAcquire returns false\n", me); goto FAILED
       fi
     }

ACQUIRED:
     do
     :: hb < HB && !comp[me] ->
        atomic {
          hb++;
          if
          :: path == NONE || o_ino[path] != myIno -> comp[me] = 1;
             printf("MSC: P%d heartbeat: lock path no longer names inode %d -> COMPROMISED\n", me, myIno)
          :: else ->
#if AGE
             if :: o_ver[mine] < 15 -> o_ver[mine]++ :: skip fi
#else
             skip
#endif
          fi
        }
     :: break
     od;
     /* ------------------------------------------------------------ release() */
     atomic {  /* held = nil; stop the heartbeat and wait for its thread; the descriptor stays open */
       hb = 0; incs[me] = 0; holdObj[me] = 0;
       expIno = myIno; expCont = mine;
#if MUTANT == 11
       gkey = mine * 2 + 1;
#else
       gkey = myIno;
#endif
       printf("MSC: P%d leaves the critical section, release() of file %d\n", me, mine)
     }
     isRel = 1; goto REMOVE;
RELEASED:
     atomic {
       o_nopen[mine]--; fdHeld[me] = 0; maybe_free(mine);    /* close(fd) */
       o_reported[mine] = (res != REMOVED) || comp[me];
       printf("MSC: P%d release() returns (1 = throws lockCompromised): %d\n", me, o_reported[mine]);
#ifdef P_NOFALSE
       assert(!o_reported[mine]);
#endif
       o_released[mine] = 1;
       comp[me] = 0; res = 0; mine = 0; myIno = 0; expIno = 0; expCont = 0; gkey = 0
     }
     goto FAILED;
     /* ------------------------------------------------------------ LockFileReclaim.removeUnderGuard
        (expected: expIno/expMt/expCont, guard key gkey, matchMtime = !isRel); result in res.
        One copy of the code, entered by goto from tryAcquire and from release(). */
REMOVE:
  k = 1; res = 0;
#if MUTANT == 1
  if :: !isRel -> k = 0; goto INSPECT :: else -> skip fi;
#endif
#if MUTANT == 6
  if :: isRel -> k = 0; goto INSPECT :: else -> skip fi;
#endif
GUARD:
  /* open(<lock>.reclaim-<key>-<k>, O_CREAT|O_EXCL|O_NOFOLLOW) */
  /* EEXIST: open and read the guard's record. One step with the failed create: a failed O_EXCL has
     no effect, so it can always be scheduled just before the read (README, "atomicity") */
  atomic {
    if
    :: g_who[GI(gkey, k)] == 0 -> g_who[GI(gkey, k)] = me + 1; g_rec[GI(gkey, k)] = 0; got = 1
    :: else -> got = 0; gseen = g_who[GI(gkey, k)]; gseenRec = g_rec[GI(gkey, k)]
    fi
  }
  if
  :: got ->
     /* write our owner record into the guard */
     atomic { g_rec[GI(gkey, k)] = 1; got = 0 }
     goto INSPECT
  :: else -> skip
  fi;
  /* is the guard stale? (the same rules as a lock file) */
  atomic {
    if
    :: gseen == 0 -> ok = 0; goto GUARD            /* it vanished meanwhile: try this generation again */
    :: else -> skip
    fi;
#if MUTANT == 5
    ok = 1;
#elif AGE >= 2
    if :: ok = 1 :: ok = 0 fi;                      /* any guard may be old enough */
#else
    if
    :: gseenRec -> ok = dead[gseen - 1]
    :: else -> ok = (EMPTYAGE && dead[gseen - 1])   /* unreadable: stale by age once its creator died */
    fi;
#endif
    gseen = 0; gseenRec = 0;
    if
    :: ok && k < MAXK ->
       ok = 0;
#if MUTANT == 10
       g_who[GI(gkey, k)] = 0; g_rec[GI(gkey, k)] = 0;   /* remove the dead guard and reuse its name */
       printf("MSC: P%d guard %d-%d is stale: removes it\n", me, gkey, k);
#else
       printf("MSC: P%d guard %d-%d is stale: tries generation %d\n", me, gkey, k, k + 1);
       k++;
#endif
       goto GUARD
#if MUTANT != 12
    :: !ok && isRel ->
       printf("MSC: P%d release waits: guard %d-%d is held by a live process\n", me, gkey, k);
       goto GWAIT
#endif
    :: else ->
       ok = 0; res = BUSY; k = 0;
       printf("MSC: P%d guard %d busy: another process is removing that file\n", me, gkey);
       goto GDONE
    fi
  }
GWAIT:
  /* release: poll until the guard is gone or its holder is dead, then try that generation again */
  (g_who[GI(gkey, k)] == 0 || dead[g_who[GI(gkey, k)] - 1]) -> goto GUARD;
INSPECT:
  /* open(lock), fstat, read, close: the lock path must still be the file expected */
  atomic {
#if MUTANT == 2
    same = (!isRel || FRESH_SAME((!isRel)));
#else
    same = FRESH_SAME((!isRel));
#endif
    if
    :: !same -> res = CHANGED; printf("MSC: P%d (guard %d-%d): the lock path is no longer the file judged\n", me, gkey, k); goto CLEANUP
    :: else -> skip
    fi
  }
#if MUTANT == 9
  atomic { if :: k > 0 -> g_who[GI(gkey, k)] = 0; g_rec[GI(gkey, k)] = 0; k = 0 :: else -> skip fi }
#endif
  /* rename(lock, tombstone): ENOENT when nothing is there */
  atomic {
    if
    :: path == NONE -> res = CHANGED; goto CLEANUP
    :: else -> t = path; tomb[me] = t; path = NONE;
       printf("MSC: P%d rename(lock -> tomb%d) moves file %d (of P%d)\n", me, me, t, o_creator[t]);
#ifdef P_RELDEL
       /* (b) release never takes another current holder's file off the lock path */
       assert(!(isRel && t != mine && !dead[o_creator[t]] && holdObj[o_creator[t]] == t));
#endif
#if defined(P_RECDEL) && AGE < 2
       assert(!(!isRel && t != judged && !dead[o_creator[t]] && holdObj[o_creator[t]] == t));
#endif
       skip
    fi
  }
  /* snapshot of the tombstone (private name) and the comparison; then unlink it, or leave it */
  atomic {
    same = TOMB_SAME((!isRel));
    if
    :: same ->
       printf("MSC: P%d compare: file %d matches; unlink(tomb%d)\n", me, t, me);
#ifdef P_RELDEL
       assert(!(isRel && o_nlink[t] == 1 && t != mine && !dead[o_creator[t]] && holdObj[o_creator[t]] == t));
#endif
#ifdef P_RECDEL
       assert(!(!isRel && o_nlink[t] == 1 && t != judged && !dead[o_creator[t]] && holdObj[o_creator[t]] == t));
#endif
       o_nlink[t]--; tomb[me] = NONE; maybe_free(t); res = REMOVED
    :: else ->
#if MUTANT == 7
       if
       :: path == NONE -> path = t; o_nlink[t]++; printf("MSC: P%d compare: file %d differs; link puts it back\n", me, t)
       :: else -> skip
       fi;
       o_nlink[t]--; tomb[me] = NONE; maybe_free(t);
#elif MUTANT == 8
#ifdef P_RELDEL
       assert(!(isRel && o_nlink[t] == 1 && t != mine && !dead[o_creator[t]] && holdObj[o_creator[t]] == t));
#endif
#ifdef P_RECDEL
       assert(!(!isRel && o_nlink[t] == 1 && t != judged && !dead[o_creator[t]] && holdObj[o_creator[t]] == t));
#endif
       o_nlink[t]--; tomb[me] = NONE; maybe_free(t);
#else
       printf("MSC: P%d compare: file %d (of P%d) is not the one expected: left under tomb%d\n", me, t, o_creator[t], me);
       tomb[me] = NONE; leaked++;             /* the name stays (nlink unchanged); this process forgets it */
#endif
       res = CHANGED
    fi;
    t = NONE; same = 0
  }
CLEANUP:
  /* unlink our guard, then the dead generations below it */
  do
  :: k > 0 -> atomic { g_who[GI(gkey, k)] = 0; g_rec[GI(gkey, k)] = 0; k-- }
  :: else -> break
  od;
GDONE:
  if
  :: isRel -> goto RELEASED
  :: else -> goto RECLAIMED
  fi;
FAILED:
     att = 0
  :: else -> break
  od;
  atomic { fin[me] = 1; finished++ }
  } unless {
    dead[me] ->
    atomic {
      if :: fdHeld[me] != NONE -> o_nopen[fdHeld[me]]--; h_i = fdHeld[me]; maybe_free(h_i); fdHeld[me] = 0 :: else -> skip fi;
      incs[me] = 0
    }
  }
}

#if MAXCRASH > 0
active proctype killer() {
  byte v;
end:
  do
  :: crashes < MAXCRASH ->
     atomic {
       v = 0;
       do
       :: v < N - 1 -> v++
       :: break
       od;
       if
       :: !dead[v] && !fin[v] -> dead[v] = 1; crashes++; printf("MSC: P%d CRASHES\n", v)
       :: else -> skip
       fi;
       v = 0
     }
  :: else -> break
  od
}
#endif

active proctype final() {
  (finished + crashes == N) ->
  atomic {
#ifdef P_CLEAN
    if
    :: crashes == 0 ->
       assert(path == NONE && leaked == 0);
       h_j = 0;
       do :: h_j < N -> assert(tomb[h_j] == NONE); h_j++ :: else -> break od;
       h_j = 0;
       do :: h_j < NKEY*(MAXK+1) -> assert(g_who[h_j] == 0); h_j++ :: else -> break od
    :: else -> skip
    fi;
#endif
#ifdef P_WEDGE
    assert(!(path != NONE && o_released[path] && !dead[o_creator[path]]));
#endif
#ifdef P_DETECT
    h_i = 1;
    do
    :: h_i <= MAXOBJ ->
       h_j = 1;
       do
       :: h_j <= MAXOBJ ->
          assert(!(ov[h_i * (MAXOBJ+1) + h_j] && !o_reported[h_i] && !o_reported[h_j]
                   && !dead[o_creator[h_i]] && !dead[o_creator[h_j]]));
          h_j++
       :: else -> break
       od;
       h_i++
    :: else -> break
    od;
#endif
    skip
  }
}

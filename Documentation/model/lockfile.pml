/*
 * lockfile.pml -- SPIN model of DurableIO's LockFile (Sources/DurableIO/Lock/LockFile.swift):
 * O_EXCL create, staleness on proof (dead owner) or by age (unreadable record), reclaim by
 * rename-to-tombstone + identity comparison + link-back, release by the same move-aside, and the
 * heartbeat's "does the path still name my inode" check.
 *
 * See README.md next to this file for what is modelled, what is abstracted, and the results.
 *
 * Configuration (all with -D on the spin command line):
 *   N         processes (each one LockFile handle in its own process)            default 3
 *   ROUNDS    acquire / critical section / release rounds per process            default 1
 *   MAXATT    iterations of tryAcquire's retry loop (the code has 8)             default 3
 *   MAXCRASH  processes that may crash, at any step                             default 1
 *   HB        heartbeat checks a holder makes in its critical section            default 1
 *   AGE       0: main model, a live holder is never judged stale
 *             1: age configuration: ANY file may be judged stale by age (a paused holder,
 *                or a holder on another host with foreignHostStaleAge set)       default 0
 *   EMPTYAGE  1: an empty file whose creator died before writing may be judged stale by age
 *             0: only records with a dead pid are stale                          default 1
 *   MUTANT    0 the code as written
 *             1 reclaim deletes the tombstone without any comparison
 *             2 the comparison looks at the inode only
 *             3 the comparison looks at inode + content, not mtime
 *             4 the put-back uses rename (replaces) instead of link (never replaces)
 *   Properties (each may be switched on independently; check.sh runs them one at a time):
 *   P_ME      (a) mutual exclusion among live, uncompromised holders (checked at CS entry)
 *   P_RELDEL  (b) release never deletes the file of another current holder
 *   P_RECDEL  (b') reclaim never deletes the file of a current holder it did not judge stale
 *   P_WEDGE   (d) a put-back never resurrects a file its live owner has already released
 *   P_CLEAN   (c) with no crash: at the end the lock path is free and no tombstone is left
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
#define MAXATT 3
#endif
#ifndef MAXCRASH
#define MAXCRASH 1
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
#define EMPTYAGE 1          /* 0: never judge an empty (record-less) file stale, so only proof by pid counts */
#endif

#define MAXOBJ (N*ROUNDS)   /* every successful O_EXCL create is one acquisition = one file object */
#define NI     MAXOBJ       /* inode pool: enough that a create never runs out, small enough to reuse */
#define NONE   0

/* ---- the directory: one name for the lock path, one tombstone name per process ---------------- */
byte path;                  /* file object named by the lock path, NONE when absent */
byte tomb[N];               /* file object named by process p's tombstone (unique per process) */

/* ---- file objects 1..MAXOBJ ----------------------------------------------------------------------- */
byte o_ino[MAXOBJ+1];       /* inode number, from the pool; reused once the object is freed */
byte o_cont[MAXOBJ+1];      /* content: 0 = empty (created, record not yet written), else the
                               acquisition's nonce (= object id; it also names the owner pid) */
byte o_ver[MAXOBJ+1];       /* mtime version: bumped by the record write and by heartbeat touches */
byte o_nlink[MAXOBJ+1];     /* names (path or tombstones) */
byte o_nopen[MAXOBJ+1];     /* open descriptors; an inode is freed at nlink == 0 && nopen == 0 */
byte o_creator[MAXOBJ+1];   /* ghost: the process whose acquisition created it */
bool o_released[MAXOBJ+1];  /* ghost: its owner has finished release() for it */
bool o_reported[MAXOBJ+1];  /* ghost: its owner learnt it was compromised (heartbeat or release) */
bit  ino_used[NI+1];
byte nobj;                  /* objects created so far */

/* observable mtime: distinct objects never share an mtime (see README: sound for every comparison
   the code makes, because a file judged stale by age is older than staleAge and one judged on
   proof is told apart by its nonce); within one object it moves with every write/touch */
#define MT(o) ((o) * 16 + o_ver[o])

/* ---- processes ----------------------------------------------------------------------------------- */
bool dead[N];               /* crashed: pid no longer alive (ProcessLiveness.isAlive is false) */
bool fin[N];
bool incs[N];               /* ghost: in the critical section (between tryAcquire()==true and release()) */
bool comp[N];               /* Held.compromised, set by the heartbeat */
byte holdObj[N];            /* ghost: the object of the current acquisition (create .. release start) */
byte fdHeld[N];             /* Held.fd */
byte crashes;
byte finished;
#ifdef P_DETECT
bit  ov[(MAXOBJ+1)*(MAXOBJ+1)];   /* ghost: acquisitions a and b were in the critical section together */
#endif

hidden byte h_i, h_j, h_last;     /* scratch inside atomic blocks only */

inline maybe_free(o) {
  if
  :: o_nlink[o] == 0 && o_nopen[o] == 0 -> ino_used[o_ino[o]] = 0
  :: else -> skip
  fi
}

/* any free inode, chosen nondeterministically (reuse of a just-freed inode included) */
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

/* is some OTHER live, uncompromised process in the critical section? (for property (a)) */
inline check_me() {
  h_j = 0;
  do
  :: h_j < N ->
     assert(!(h_j != me && incs[h_j] && !dead[h_j] && !comp[h_j]));
     h_j++
  :: else -> break
  od
}

#if MUTANT == 1
#define SAME(matchMtime) (1)
#elif MUTANT == 2
#define SAME(matchMtime) (tIno == expIno)
#elif MUTANT == 3
#define SAME(matchMtime) (tIno == expIno && tCont == expCont)
#else
#define SAME(matchMtime) (tIno == expIno && tCont == expCont && (!(matchMtime) || tMt == expMt))
#endif

/* LockFile.moveAside(expected:matchMtime:) -- result in `changed`. expIno/expMt/expCont hold `expected`. */
inline move_aside(matchMtime, isRelease) {
  /* rename(path, tombstone): moves whatever the path names now; ENOENT when nothing */
  atomic {
    if
    :: path == NONE -> changed = 1
    :: else -> t = path; tomb[me] = t; path = NONE;
       printf("MSC: P%d rename(lock -> tomb%d) moves file %d (of P%d)\n", me, me, t, o_creator[t])
    fi
  }
  if
  :: t != NONE ->
     /* snapshot(of: tombstone) (open, fstat, read, close), the comparison, and when it differs
        the put-back. One step: see README ("atomicity") for why this loses no behaviour. */
     atomic {
       tIno = o_ino[t]; tMt = MT(t); tCont = o_cont[t];
       same = SAME(matchMtime);
       tIno = 0; tMt = 0; tCont = 0;
       if
       :: !same ->
#if MUTANT == 4
          /* put back with rename: replaces what is there */
          if
          :: path != NONE ->
             printf("MSC: P%d compare: file %d is not the one expected; rename(tomb%d -> lock) REPLACES file %d\n", me, t, me, path);
#if defined(P_RECDEL) || defined(P_RELDEL)
             /* (b)/(b') the replaced file loses its only name */
             assert(!(o_nlink[path] == 1 && !dead[o_creator[path]] && holdObj[o_creator[path]] == path));
#endif
             o_nlink[path]--; h_i = path; maybe_free(h_i)
          :: else -> skip
          fi;
          path = t; o_nlink[t]++
#else
          /* link(tombstone, path): fails with EEXIST when the path is taken; the error is ignored */
          if
          :: path == NONE ->
             path = t; o_nlink[t]++;
             printf("MSC: P%d compare: file %d is not the one expected; link(tomb%d -> lock) puts it back\n", me, t, me);
#ifdef P_WEDGE
             /* (d) resurrecting a file its live owner has released wedges the lock until that process exits */
             assert(!(o_released[t] && !dead[o_creator[t]]))
#else
             skip
#endif
          :: else -> printf("MSC: P%d compare: file %d is not the one expected; link back fails (EEXIST, lock names file %d)\n", me, t, path)
          fi
#endif
       :: else -> printf("MSC: P%d compare: file %d matches what was expected\n", me, t)
       fi
     }
     /* unlink(tombstone) */
     atomic {
#ifdef P_RELDEL
       /* (b) release never deletes another current holder's file */
       assert(!(isRelease && o_nlink[t] == 1 && t != mine && !dead[o_creator[t]] && holdObj[o_creator[t]] == t));
#endif
#ifdef P_RECDEL
       /* (b') reclaim never deletes a current holder's file other than the one it judged stale */
       assert(!(!isRelease && o_nlink[t] == 1 && t != judged && !dead[o_creator[t]] && holdObj[o_creator[t]] == t));
#endif
       if
       :: o_nlink[t] == 1 && holdObj[o_creator[t]] == t && !dead[o_creator[t]] ->
          printf("MSC: P%d unlink(tomb%d) DELETES file %d of P%d, WHICH STILL HOLDS IT\n", me, me, t, o_creator[t])
       :: o_nlink[t] == 1 && !(holdObj[o_creator[t]] == t && !dead[o_creator[t]]) ->
          printf("MSC: P%d unlink(tomb%d) deletes file %d (of P%d)\n", me, me, t, o_creator[t])
       :: else -> printf("MSC: P%d unlink(tomb%d): file %d still has another name\n", me, me, t)
       fi;
       o_nlink[t]--; tomb[me] = NONE; maybe_free(t);
       changed = !same; t = NONE; same = 0
     }
  :: else -> skip
  fi
}

active [N] proctype P() {
  byte me = _pid;
  byte r, att, o, sIno, sMt, sCont, t, tIno, tMt, tCont, mine, myIno, hb, judged;
  byte expIno, expMt, expCont;
  bool ok, same, changed;

  {
  do
  :: r < ROUNDS ->
     atomic { r++; att = 0 }
     /* ------------------------------------------------------------ tryAcquire() */
ATTEMPT:
     /* create(): open(O_CREAT|O_EXCL|O_NOFOLLOW) */
     atomic {
       if
       :: att >= MAXATT -> goto FAILED                     /* the retry loop is exhausted */
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
     /* inspect(): open(path), fstat, read, close -- one step (see README) */
     atomic {
       if
       :: path != NONE -> judged = path; sIno = o_ino[judged]; sMt = MT(judged); sCont = o_cont[judged];
          printf("MSC: P%d create fails (EEXIST); inspects file %d (of P%d; record written: %d)\n", me, judged, o_creator[judged], sCont != 0)
       :: else -> goto ATTEMPT                               /* vanished: create again */
       fi
     }
     /* isStale(seen) */
     atomic {
       if
       :: sCont == 0 ->
          /* unreadable record: stale once its mtime is older than staleAge */
#if AGE
          if :: ok = 1 :: ok = 0 fi
#else
          /* main model: the age test passes only for a file whose creator died before writing its
             record (staleAge is longer than any live create->write gap; pauses are the AGE config) */
          if
          :: EMPTYAGE && dead[o_creator[judged]] && o_cont[judged] == 0 -> if :: ok = 1 :: ok = 0 fi
          :: else -> ok = 0
          fi
#endif
       :: else ->
          /* a record: same host, so stale iff its pid is dead (isProvablyDead) */
          ok = dead[o_creator[sCont]];
#if AGE
          /* or (another host / paused past the age): judged by age, at any time */
          if :: ok = 1 :: skip fi
#endif
       fi;
       expIno = sIno; expMt = sMt; expCont = sCont; sIno = 0; sMt = 0; sCont = 0;
       if
       :: !ok -> printf("MSC: P%d: not stale, tryAcquire returns false\n", me);
                 expIno = 0; expMt = 0; expCont = 0; judged = 0; goto FAILED   /* held: false */
       :: else -> ok = 0; printf("MSC: P%d judges file %d STALE (creator P%d; dead: %d)\n", me, judged, o_creator[judged], dead[o_creator[judged]])
       fi
     }
     move_aside(1, 0);
     atomic {
       expIno = 0; expMt = 0; expCont = 0; judged = 0;
       if
       :: !changed -> goto ATTEMPT                          /* .moved: create again */
       :: else -> changed = 0; printf("MSC: P%d: .changed, tryAcquire returns false\n", me); goto FAILED
       fi
     }

ACQUIRED:
     /* ------------------------------------------------------------ critical section + heartbeat */
     do
     :: hb < HB && !comp[me] ->
        atomic {
          hb++;
          /* stat(path): must still name our inode (the code compares device + inode only) */
          if
          :: path == NONE || o_ino[path] != myIno -> comp[me] = 1;
             printf("MSC: P%d heartbeat: lock path no longer names inode %d -> COMPROMISED\n", me, myIno)
          :: else ->
#if AGE
             /* touch(fd): mtime may or may not move (granularity) */
             if :: o_ver[mine] < 15 -> o_ver[mine]++ :: skip fi
#else
             skip   /* touches only move mtime of a live holder's file, never compared in the main model */
#endif
          fi
        }
     :: break
     od;
     /* ------------------------------------------------------------ release() */
     atomic {  /* held = nil; stop the heartbeat; close(fd) */
       hb = 0; incs[me] = 0; holdObj[me] = 0; o_nopen[mine]--; fdHeld[me] = 0; maybe_free(mine);
       expIno = myIno; expCont = mine;     /* Snapshot(identity: held.identity, content: held.owner.encoded) */
       printf("MSC: P%d leaves the critical section, release() of file %d\n", me, mine)
     }
     move_aside(0, 1);
     atomic {
       o_reported[mine] = changed || comp[me];
       printf("MSC: P%d release() returns (1 = throws lockCompromised): %d\n", me, o_reported[mine]);
       o_released[mine] = 1;
       comp[me] = 0; changed = 0; mine = 0; myIno = 0; expIno = 0; expCont = 0
     }
FAILED:
     att = 0
  :: else -> break
  od;
  atomic { fin[me] = 1; finished++ }
  } unless {
    dead[me] ->
    /* the process is gone: its descriptor closes; its files stay where they are */
    atomic {
      if :: fdHeld[me] != NONE -> o_nopen[fdHeld[me]]--; h_i = fdHeld[me]; maybe_free(h_i); fdHeld[me] = 0 :: else -> skip fi;
      incs[me] = 0
    }
  }
}

#if MAXCRASH > 0
/* kill(2): any process that has not finished, at any step, at most MAXCRASH times */
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

/* end-of-run checks, once every process has finished or died */
active proctype final() {
  (finished + crashes == N) ->
  atomic {
#ifdef P_CLEAN
    if
    :: crashes == 0 ->
       assert(path == NONE);
       h_j = 0;
       do :: h_j < N -> assert(tomb[h_j] == NONE); h_j++ :: else -> break od
    :: else -> skip
    fi;
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

"""Copy a folder exactly as it is on disk (files, folders, symbolic links, modes and times; links never followed)."""

import os
import shutil
import stat


def copy_tree(src: str, dest: str) -> None:
    st = os.lstat(src)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), dest)
    elif stat.S_ISDIR(st.st_mode):
        os.makedirs(dest)
        with os.scandir(src) as it:
            for e in it:
                copy_tree(e.path, os.path.join(dest, e.name))
        shutil.copystat(src, dest, follow_symlinks=False)
    elif stat.S_ISREG(st.st_mode):
        shutil.copy2(src, dest, follow_symlinks=False)
    else:
        raise OSError(f"cannot copy {src}: not a file, folder or link")


def restore(pristine: str, live: str) -> None:
    """Put ``live`` back to the copy ``pristine`` (same place: the files of a run and a simulated Mac name it)."""
    shutil.rmtree(live, ignore_errors=True)
    copy_tree(pristine, live)

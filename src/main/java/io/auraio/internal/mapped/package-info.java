/**
 * Page-cache reads without a system call: a file read often from the page cache is mapped, and
 * reads of ranges whose pages are in memory are copied from the mapping, with the checks that keep
 * their results exactly {@code pread}'s ({@link io.auraio.internal.mapped.MappedReads}). Depends
 * only on the binding.
 */
package io.auraio.internal.mapped;

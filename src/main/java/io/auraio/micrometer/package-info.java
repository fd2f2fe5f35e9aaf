/**
 * Micrometer metrics for AuraIO engines: {@link AuraMeterBinder}. Micrometer is an optional
 * dependency ({@code requires static micrometer.core}): an application that uses this package
 * brings {@code io.micrometer:micrometer-core} itself; one that does not never loads it.
 */
package io.auraio.micrometer;

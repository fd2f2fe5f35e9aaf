package io.auraio.spi;

import io.auraio.internal.offload.BlockingOffload;
import java.io.IOException;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.lang.reflect.UndeclaredThrowableException;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttributeView;

/**
 * A platform attribute view whose methods ({@code readAttributes}, {@code setTimes},
 * {@code setPermissions}, {@code setOwner}, a user-defined view's {@code read}/{@code write}, ...)
 * are made on the {@link BlockingOffload}: the view's type is an interface, so one proxy serves
 * every kind of view, the platform's and any the caller asks for by type.
 */
final class OffloadedView {
    private OffloadedView() {}

    /**
     * {@return {@code view} with its methods made on the offload, as {@code type}; null if
     * {@code view} is null (the platform has no such view)}
     *
     * @param path the file the view's calls touch (its mount), a platform path
     */
    static <V extends FileAttributeView> V of(Class<V> type, V view, Path path) {
        if (view == null || !type.isInterface()) {
            return view;
        }
        InvocationHandler handler = (proxy, method, args) -> invoke(proxy, view, method, args, path);
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, handler));
    }

    private static Object invoke(Object proxy, Object view, Method method, Object[] args, Path path) throws IOException {
        if (method.getDeclaringClass() == Object.class) {
            return switch (method.getName()) {
                case "equals" -> proxy == args[0];
                case "hashCode" -> System.identityHashCode(proxy);
                default -> view.toString();
            };
        }
        return BlockingOffload.shared().call(path, () -> {
            try {
                return method.invoke(view, args);
            } catch (InvocationTargetException e) {
                Throwable cause = e.getCause();
                if (cause instanceof IOException io) {
                    throw io;
                }
                if (cause instanceof RuntimeException r) {
                    throw r;
                }
                if (cause instanceof Error err) {
                    throw err;
                }
                throw new UndeclaredThrowableException(cause);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException("cannot call " + method + " of the platform's view", e);
            }
        });
    }
}
